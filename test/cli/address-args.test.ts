import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAddress, parseAddress } from '../../src/client/address.js';
import { normalizeLongOptions } from '../../src/cli/args.js';
import { formatBytes, formatDuration } from '../../src/cli/format.js';

test('parseAddress reads ip:port, host:port, [ipv6]:port and a host alone', () => {
  assert.deepEqual(parseAddress('127.13.37.1:20215'), { host: '127.13.37.1', port: 20215 });
  assert.deepEqual(parseAddress('files.example.org:9000'), { host: 'files.example.org', port: 9000 });
  assert.deepEqual(parseAddress('[::1]:20215'), { host: '::1', port: 20215 });
  assert.deepEqual(parseAddress('[fe80::1%eth0]:1'), { host: 'fe80::1%eth0', port: 1 });
  assert.deepEqual(parseAddress('localhost'), { host: 'localhost', port: 20215 });
  assert.deepEqual(parseAddress('[::1]'), { host: '::1', port: 20215 });
});

test('parseAddress refuses what it cannot read unambiguously', () => {
  for (const bad of ['', ':20215', 'host:', 'host:0', 'host:65536', 'host:12x', '::1', '::1:20215', '[nope]:1', 'a b:1', '[::1]:x']) {
    assert.throws(() => parseAddress(bad), { code: 'LPF_ERR_USAGE' }, bad);
  }
});

test('formatAddress brackets IPv6 hosts', () => {
  assert.equal(formatAddress({ host: '::1', port: 5 }), '[::1]:5');
  assert.equal(formatAddress({ host: '10.0.0.1', port: 5 }), '10.0.0.1:5');
});

test('normalizeLongOptions turns the promised -upload into --upload and leaves the rest', () => {
  const known = ['upload', 'download', 'force'];
  assert.deepEqual(normalizeLongOptions(['h:1', '-upload', 'a', '-force'], known), ['h:1', '--upload', 'a', '--force']);
  assert.deepEqual(normalizeLongOptions(['--upload', '-h', '-x'], known), ['--upload', '-h', '-x']);
  assert.deepEqual(normalizeLongOptions(['-unknown'], known), ['-unknown']);
  // After "--" everything is an operand, even a file called -upload.
  assert.deepEqual(normalizeLongOptions(['--', '-upload'], known), ['--', '-upload']);
});

test('human-readable figures', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
  assert.equal(formatDuration(12.4), '12 ms');
  assert.equal(formatDuration(1234), '1.23 s');
});
