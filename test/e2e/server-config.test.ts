/** lpf-server's configuration file, through the real program. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer } from '../helpers/processes.js';
import { runServerCli, users } from '../helpers/server-cli.js';

describe('lpf-server configuration file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lpf-config-e2e-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('ROOT/lpf-server.toml is used without being named', async () => {
    const root = join(dir, 'root-with-file');
    await mkdir(root);
    await writeFile(join(root, 'lpf-server.toml'), '# set by the admin\nno-register = true\n');
    const server = await startServer({ root, defaultLimits: true });
    try {
      assert.equal(server.logs.find((l) => l.msg === 'listening')?.config, join(root, 'lpf-server.toml'));
      const r = await runLpf([server.address, '-list'], { env: asUser('walt', 'walts-password', true) });
      assert.equal(r.code, 6);
      assert.match(r.stderr, /registration is turned off/);
    } finally {
      await server.stop();
    }
  });

  test('--config: its values are used, and a flag beats them', async () => {
    const file = join(dir, 'server.toml');
    await writeFile(file, 'min-password = 12\nregister-limit = 100\n');
    const fromFile = await startServer({ defaultLimits: true, args: ['--config', file] });
    try {
      const r = await runLpf([fromFile.address, '-list'], { env: asUser('jesse', '10-chars!!', true) });
      assert.equal(r.code, 6);
      assert.match(r.stderr, /at least 12 characters/);
    } finally {
      await fromFile.stop();
    }
    const flagWins = await startServer({ defaultLimits: true, args: ['--config', file, '--min-password', '4'] });
    try {
      assert.equal((await runLpf([flagWins.address, '-list'], { env: asUser('jesse', '10-chars!!', true) })).code, 0);
    } finally {
      await flagWins.stop();
    }
  });

  test('a flag beats the environment, which beats the file (as users add sees --min-password)', async () => {
    const root = join(dir, 'precedence');
    const file = join(dir, 'precedence.toml');
    await writeFile(file, `root = "precedence"\nmin-password = 20\n`);
    const password = 'seven-7';
    const fileOnly = await users(root, ['add', 'skyler', '--config', file], password);
    assert.equal(fileOnly.code, 6);
    assert.match(fileOnly.stderr, /at least 20 characters/);
    const envBeatsFile = await users(root, ['add', 'skyler', '--config', file], password, { LPF_MIN_PASSWORD: '10' });
    assert.match(envBeatsFile.stderr, /at least 10 characters/);
    const flagBeatsEnv = await users(root, ['add', 'skyler', '--config', file, '--min-password', '5'], password, {
      LPF_MIN_PASSWORD: '10',
    });
    assert.equal(flagBeatsEnv.code, 0, flagBeatsEnv.stderr);
    // The file's root (relative to the file) is where the account went.
    assert.match((await runServerCli(['users', 'list', '--config', file])).stdout, /^skyler$/m);
  });

  test('an unknown key or a bad value is a clear error naming the file and the key', async () => {
    const cases: [string, RegExp][] = [
      ['max-conections = 10\n', /lpf-server: error: .*bad\.toml: unknown key "max-conections"/],
      ['port = "http"\n', /lpf-server: error: port in .*bad\.toml: "http" is not a port number/],
      ['quota = "lots"\n', /quota in .*bad\.toml: "lots" is not a size/],
      ['log-level = "loud"\n', /log-level in .*bad\.toml: must be one of/],
      ['plain = 1\n', /plain in .*bad\.toml: must be true or false/],
      ['port = \n', /bad\.toml:1:\d+: not valid TOML/],
    ];
    const file = join(dir, 'bad.toml');
    for (const [text, message] of cases) {
      await writeFile(file, text);
      // 127.0.0.1 and a short deadline, should a bad value ever be let through and the server start.
      const r = await runServerCli(['--config', file, '--root', join(dir, 'unused'), '--host', '127.0.0.1'], { timeoutMs: 10_000 });
      assert.equal(r.code, 2, `${text}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /\[LPF_ERR_USAGE\]/);
    }
    const missing = await runServerCli(['--root', join(dir, 'unused'), '--host', '127.0.0.1'], {
      env: { LPF_CONFIG: join(dir, 'missing.toml') },
      timeoutMs: 10_000,
    });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the configuration file .*missing\.toml/);
  });
});
