/** --json: every command that prints something prints one JSON object a script can rely on. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asUser, runLpf, startServer, tempDir, type RunningServer } from '../helpers/processes.js';

function parse(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON object, got: ${stdout}`);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

describe('--json', () => {
  let server: RunningServer;
  let dir: { path: string; cleanup(): Promise<void> };
  const env = asUser('jay', 'jays-password');
  before(async () => {
    server = await startServer();
    dir = await tempDir();
    await runLpf([server.address, '-list'], { env: asUser('jay', 'jays-password', true) });
  });
  after(async () => {
    await server.stop();
    await dir.cleanup();
  });

  test('ping, upload, list, download and delete', async () => {
    const ping = parse((await runLpf([server.address, '-ping', '--json'])).stdout);
    assert.equal(ping.ok, true);
    assert.equal(ping.command, 'ping');
    assert.equal(typeof ping.ms, 'number');

    const local = join(dir.path, 'a.txt');
    await writeFile(local, 'json please');
    const up = parse((await runLpf([server.address, '-upload', local, '--json'], { env })).stdout);
    assert.deepEqual(Object.keys(up).sort(), ['command', 'local', 'ms', 'name', 'ok', 'resumedFrom', 'sha256', 'size']);
    assert.equal(up.name, 'a.txt');
    assert.equal(up.size, 11);
    assert.match(String(up.sha256), /^[0-9a-f]{64}$/);

    const list = parse((await runLpf([server.address, '-list', '--long', '--json'], { env })).stdout);
    const entries = list.entries as { name: string; size: number; modified: string; sha256: string }[];
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.name, 'a.txt');
    assert.equal(entries[0]?.sha256, up.sha256);
    assert.ok(!Number.isNaN(Date.parse(entries[0]?.modified ?? '')));

    const down = parse((await runLpf([server.address, '-download', 'a.txt', '--to', join(dir.path, 'b.txt'), '--json'], { env })).stdout);
    assert.equal(down.sha256, up.sha256);
    assert.equal(down.local, join(dir.path, 'b.txt'));

    const del = parse((await runLpf([server.address, '-delete', 'a.txt', '--json'], { env })).stdout);
    assert.deepEqual(del, { ok: true, command: 'delete', name: 'a.txt' });
  });

  test('login, whoami and logout', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const config = await mkdtemp(join(tmpdir(), 'lpf-json-'));
    try {
      const home = { XDG_CONFIG_HOME: config };
      await runLpf([server.address, '-ping'], { env: home });
      const login = parse((await runLpf([server.address, '-login', '--json'], { env: { ...home, ...env } })).stdout);
      assert.equal(login.user, 'jay');
      assert.ok(!Number.isNaN(Date.parse(String(login.expires))));
      const who = parse((await runLpf([server.address, '-whoami', '--json'], { env: home })).stdout);
      assert.equal(who.user, 'jay');
      assert.equal(who.via, 'session');
      const out = parse((await runLpf([server.address, '-logout', '--json'], { env: home })).stdout);
      assert.equal(out.loggedOut, true);
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });

  test('failures are JSON too, with the code and the exit status', async () => {
    const missing = await runLpf([server.address, '-download', 'nope', '--to', join(dir.path, 'x'), '--json'], { env });
    assert.equal(missing.code, 7);
    assert.deepEqual(parse(missing.stdout), {
      ok: false,
      error: { code: 'LPF_ERR_NOT_FOUND', message: 'no such file or folder: "nope"', exitCode: 7 },
    });
    assert.match(missing.stderr, /LPF_ERR_NOT_FOUND/);
    const usage = await runLpf(['--json']);
    assert.equal(usage.code, 2);
    assert.equal((parse(usage.stdout).error as { code: string }).code, 'LPF_ERR_USAGE');
  });
});
