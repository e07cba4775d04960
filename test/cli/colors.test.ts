/** When lpf colours its output: NO_COLOR, FORCE_COLOR, a terminal or not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorEnabled, palette } from '../../src/cli/colors.js';
import { transferSummary } from '../../src/cli/progress.js';

const TTY = { isTTY: true };
const PIPE = { isTTY: false };
const ESC = '\x1b[';

test('colour only on a terminal, by default', () => {
  assert.equal(colorEnabled(TTY, {}), true);
  assert.equal(colorEnabled(PIPE, {}), false);
  assert.equal(colorEnabled({}, {}), false);
  assert.equal(colorEnabled(TTY, { TERM: 'dumb' }), false);
});

test('NO_COLOR with any non-empty value turns colour off, even against FORCE_COLOR', () => {
  for (const value of ['1', '0', 'false', 'yes']) {
    assert.equal(colorEnabled(TTY, { NO_COLOR: value }), false, value);
    assert.equal(colorEnabled(TTY, { NO_COLOR: value, FORCE_COLOR: '1' }), false, value);
  }
  assert.equal(colorEnabled(TTY, { NO_COLOR: '' }), true, 'an empty NO_COLOR is as if unset');
});

test('FORCE_COLOR turns colour on in a pipe; 0 or false turn it off on a terminal', () => {
  for (const value of ['1', '2', '3', 'true']) assert.equal(colorEnabled(PIPE, { FORCE_COLOR: value }), true, value);
  for (const value of ['0', 'false', 'FALSE']) assert.equal(colorEnabled(TTY, { FORCE_COLOR: value }), false, value);
  assert.equal(colorEnabled(PIPE, { FORCE_COLOR: '' }), false, 'an empty FORCE_COLOR is as if unset');
});

test('each style adds escapes only when colour is on', () => {
  const on = palette(TTY, {});
  const off = palette(PIPE, {});
  for (const style of ['error', 'warning', 'folder', 'dim'] as const) {
    assert.ok(on[style]('x').includes(ESC), style);
    assert.equal(off[style]('x'), 'x', style);
  }
});

test('the transfer summary dims its figures on a terminal, and reads the same without colour', () => {
  const r = { name: 'big.bin', size: 3 * 1024 * 1024, ms: 1500, resumedFrom: 1024 * 1024 };
  const plain = transferSummary(r, palette(PIPE, {}));
  assert.equal(plain, 'big.bin (3.0 MiB, resumed after 1.0 MiB) in 1.50 s, 1.3 MiB/s');
  const coloured = transferSummary(r, palette(TTY, {}));
  assert.ok(coloured.includes(ESC));
  // eslint-disable-next-line no-control-regex
  assert.equal(coloured.replace(/\x1b\[\d+m/g, ''), plain);
});
