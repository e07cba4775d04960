#!/usr/bin/env node
import '../dist/lpf-server.js';
