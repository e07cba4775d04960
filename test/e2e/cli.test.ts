/** The command lines themselves: help, version, usage errors, addresses. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { LPF_SERVER, cleanEnv, collect, runLpf, startServer, type RunningServer } from '../helpers/processes.js';

describe('lpf command line', () => {
  test('--help and -h print usage with an example; --version prints the version', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await runLpf([flag]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Usage: lpf ADDRESS COMMAND/);
      assert.match(r.stdout, /-upload LOCAL\.\.\. \[--to REMOTE\] \[-r\]/);
      assert.match(r.stdout, /Examples:/);
    }
    // A command's own help, the flag before or after it.
    for (const args of [
      ['-upload', '--help'],
      ['--help', '-upload'],
      ['127.0.0.1:1', '-upload', '-h'],
    ]) {
      const r = await runLpf(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: lpf ADDRESS -upload LOCAL\.\.\./, args.join(' '));
      assert.match(r.stdout, /^Examples?:\n {2}lpf \S+ -upload /m, args.join(' '));
    }
    const v = await runLpf(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^lpf \d+\.\d+\.\d+$/m);
  });

  test('usage errors exit 2 with a clear line', async () => {
    const cases: string[][] = [
      [],
      ['127.0.0.1:1'],
      ['127.0.0.1:1', '-ping', '-list'],
      ['127.0.0.1:1', '-upload'],
      ['127.0.0.1:1', '-rename', 'a'],
      ['127.0.0.1:1', '-list', 'a', 'b'],
      ['127.0.0.1:1', '-list', '--to', 'x'],
      ['127.0.0.1:1', '-frobnicate'],
      ['127.0.0.1:99999', '-ping'],
      ['::1:20215', '-ping'],
    ];
    for (const args of cases) {
      const r = await runLpf(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^lpf: error: .+ \[LPF_ERR_USAGE\]\n$/);
    }
  });

  test('an option the command does not take is refused before connecting, naming both', async () => {
    // Port 1 is closed: had lpf ignored the option, it would fail to connect (exit 3) instead.
    for (const [args, option, command] of [
      [['-ping', '--force'], '--force', '-ping'],
      [['-list', '--checksum'], '--checksum', '-list'],
      [['--upload', 'a', '-l'], '--long', '-upload'],
    ] as const) {
      const r = await runLpf(['127.0.0.1:1', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^lpf: error: ${option} goes with .+, not with ${command} .*\\[LPF_ERR_USAGE\\]\\n$`));
    }
  });

  test('connection refused exits 3 with a clear line', async () => {
    const r = await runLpf(['127.0.0.1:1', '-ping']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /could not connect to 127\.0\.0\.1:1: connection refused/);
  });
});

describe('addresses', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test('ip:port, localhost:port and any loopback address reach the server', async () => {
    for (const host of ['127.0.0.1', 'localhost', '127.13.37.1']) {
      const r = await runLpf([`${host}:${server.port}`, '-ping']);
      // The server listens on 127.0.0.1 only in tests; other loopback addresses may be refused.
      if (host === '127.13.37.1') assert.ok(r.code === 0 || r.code === 3, r.stderr);
      else assert.equal(r.code, 0, `${host}: ${r.stderr}`);
    }
  });
});

describe('IPv6', () => {
  test('[::1]:port works when the machine has IPv6 loopback', async (t) => {
    const probe = spawn(
      process.execPath,
      [LPF_SERVER, '--host', '::1', '--port', '0', '--root', '/tmp/lpf-v6-probe', '--log-level', 'info'],
      {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const port = await new Promise<number | undefined>((resolve) => {
      probe.stdout.on('data', (d: Buffer) => {
        const m = /"port":(\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      probe.once('exit', () => resolve(undefined));
    });
    try {
      if (port === undefined) return t.skip('no IPv6 loopback on this machine');
      const r = await runLpf([`[::1]:${port}`, '-ping']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /pong from \[::1\]:\d+/);
    } finally {
      probe.kill();
      await collect(probe, 5000).catch(() => {});
    }
  });
});

describe('lpf-server command line', () => {
  test('--help names every flag with its environment twin', async () => {
    const r = await collect(spawn(process.execPath, [LPF_SERVER, '--help'], { env: cleanEnv() }), 10_000);
    assert.equal(r.code, 0);
    for (const [flag, env] of [
      ['--host', 'LPF_HOST'],
      ['--port', 'LPF_PORT'],
      ['--root', 'LPF_ROOT'],
    ]) {
      assert.match(r.stdout, new RegExp(`${flag}.*${env}`));
    }
  });

  test('a bad flag exits 2', async () => {
    const r = await collect(spawn(process.execPath, [LPF_SERVER, '--port', 'abc'], { env: cleanEnv() }), 10_000);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a port number/);
  });
});
