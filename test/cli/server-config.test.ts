/** lpf-server's configuration file and the order of precedence: flag > environment > file > default. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { accountsFailure, accountsUrl, loadSettings, parseConfig, ServerSettings, type ConfigFile } from '../../src/cli/server-config.js';
import { tempDir } from '../helpers/processes.js';

const FILE = '/etc/lpf/server.toml';

test('keys are long flag names; numbers become text for the usual parsers; paths are relative to the file', () => {
  const values = parseConfig(
    'port = 2000\nquota = "5G"\nlogin-delay = 0.5\nno-register = true\nroot = "data"\ncert = "/abs/cert.pem"\n',
    FILE,
  );
  assert.deepEqual(Object.fromEntries([...values].map(([k, s]) => [k, s.value])), {
    port: '2000',
    quota: '5G',
    'login-delay': '0.5',
    'no-register': true,
    root: '/etc/lpf/data',
    cert: '/abs/cert.pem',
  });
  assert.equal(values.get('port')?.what, `port in ${FILE}`);
});

test('unknown keys, wrong types and bad TOML are errors naming the file and the key', () => {
  const cases: [string, RegExp][] = [
    ['prot = 1', /^\/etc\/lpf\/server\.toml: unknown key "prot"/],
    ['config = "x"', /unknown key "config"/],
    ['[limits]\nquota = "1G"', /unknown key "limits"/],
    ['plain = "yes"', /^plain in \/etc\/lpf\/server\.toml: must be true or false/],
    ['port = true', /^port in \/etc\/lpf\/server\.toml: must be a string or a number/],
    ['quota = ["1G"]', /quota in .*: must be a string or a number/],
    ['port = 1\nquota = ', /^\/etc\/lpf\/server\.toml:2:\d+: not valid TOML/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseConfig(text, FILE),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'LPF_ERR_USAGE');
        assert.match(err.message, message);
        return true;
      },
      text,
    );
  }
});

test('a flag beats the environment, which beats the file, which beats the default', () => {
  const file: ConfigFile = { path: FILE, values: parseConfig('port = 1111\nplain = true\nno-register = true', FILE) };
  const env = { LPF_PORT: '2222', LPF_PLAIN: '0' };
  assert.deepEqual(new ServerSettings({ port: '3333' }, env, file).text('port'), { value: '3333', what: '--port' });
  assert.deepEqual(new ServerSettings({}, env, file).text('port'), { value: '2222', what: 'LPF_PORT' });
  assert.deepEqual(new ServerSettings({}, { LPF_PORT: '' }, file).text('port'), { value: '1111', what: `port in ${FILE}` });
  assert.equal(new ServerSettings({}, {}, undefined).text('port'), undefined);
  // Switches: LPF_PLAIN=0 turns off what the file turned on; the flag turns it on again.
  assert.equal(new ServerSettings({}, env, file).on('plain'), false);
  assert.equal(new ServerSettings({ plain: true }, env, file).on('plain'), true);
  assert.equal(new ServerSettings({}, env, file).on('no-register'), true);
  assert.equal(new ServerSettings({}, {}, undefined).on('no-register'), false);
  assert.throws(() => new ServerSettings({}, { LPF_PLAIN: 'yes' }, undefined).on('plain'), /LPF_PLAIN: "yes" is not 1 or 0/);
});

test('ROOT/lpf-server.toml is read when present, may not move ROOT; --config or LPF_CONFIG may', async () => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'root');
    await mkdir(root);
    const none = await loadSettings({ root }, {});
    assert.equal(none.settings.configPath, undefined);

    await writeFile(join(root, 'lpf-server.toml'), 'quota = "1G"\n');
    const inRoot = await loadSettings({}, { LPF_ROOT: root });
    assert.equal(inRoot.root, root);
    assert.equal(inRoot.settings.configPath, join(root, 'lpf-server.toml'));
    assert.equal(inRoot.settings.text('quota')?.value, '1G');

    await writeFile(join(root, 'lpf-server.toml'), 'root = "/elsewhere"\n');
    await assert.rejects(loadSettings({ root }, {}), /lpf-server\.toml: key "root" cannot be set in a file inside the data folder/);

    const explicit = join(dir.path, 'server.toml');
    await writeFile(explicit, 'root = "root"\nquota = "2G"\n');
    for (const [flags, env] of [
      [{ config: explicit }, {}],
      [{}, { LPF_CONFIG: explicit }],
    ] as const) {
      const loaded = await loadSettings(flags, env);
      assert.equal(loaded.root, root, 'relative to the file');
      assert.equal(loaded.settings.text('quota')?.value, '2G', 'the explicit file, not the one in ROOT');
    }
    assert.equal((await loadSettings({ config: explicit, root: '/x' }, {})).root, '/x', 'the flag beats the file for ROOT too');
    await assert.rejects(
      loadSettings({ config: join(dir.path, 'missing.toml') }, {}),
      /cannot read the configuration file .*missing\.toml: ENOENT/,
    );
  } finally {
    await dir.cleanup();
  }
});

test('accounts: from the flag, LPF_ACCOUNTS or the file key; a postgres URL without a password, else an error naming the setting', () => {
  const file: ConfigFile = { path: FILE, values: parseConfig('accounts = "postgres://lpf@db.example:5432/lpf"\n', FILE) };
  assert.equal(accountsUrl(new ServerSettings({}, {}, undefined)), undefined, 'unset: users.txt');
  assert.deepEqual(accountsUrl(new ServerSettings({}, {}, file)), {
    value: 'postgres://lpf@db.example:5432/lpf',
    what: `accounts in ${FILE}`,
  });
  assert.deepEqual(accountsUrl(new ServerSettings({}, { LPF_ACCOUNTS: 'postgresql://a@h/d' }, file)), {
    value: 'postgresql://a@h/d',
    what: 'LPF_ACCOUNTS',
  });
  assert.equal(accountsUrl(new ServerSettings({ accounts: 'postgres:///lpf' }, { LPF_ACCOUNTS: 'x' }, file))?.what, '--accounts');
  const cases: [string, RegExp][] = [
    ['db.example:5432', /^--accounts: expected a postgres:\/\/ URL/],
    ['not a url', /^--accounts: "not a url" is not a URL; expected postgres:\/\/USER@HOST:PORT\/DATABASE$/],
    ['https://db.example/', /^--accounts: expected a postgres:\/\/ URL/],
    ['postgres://lpf:hunter2@db.example/lpf', /^--accounts: put no password in the URL; give it in PGPASSWORD or ~\/\.pgpass$/],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => accountsUrl(new ServerSettings({ accounts: value }, {}, undefined)),
      (err: Error & { code?: string }) => err.code === 'LPF_ERR_USAGE' && message.test(err.message) && !err.message.includes('hunter2'),
    );
  }
  const failure = accountsFailure(
    { value: 'postgres://lpf@h/d', what: 'LPF_ACCOUNTS' },
    new Error('wrapped', { cause: new Error('connect ECONNREFUSED') }),
  );
  assert.equal(failure.code, 'LPF_ERR_SERVER');
  assert.equal(failure.message, 'LPF_ACCOUNTS: cannot use the accounts database at postgres://lpf@h/d: connect ECONNREFUSED');
});
