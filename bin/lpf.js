#!/usr/bin/env node
import '../dist/lpf.js';
