/**
 * `npm run bench -- --quick` must complete and write its JSON with every
 * section holding positive figures. Nothing about speed is asserted: the
 * benchmark reports, it does not judge.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const REPO = resolve(import.meta.dirname, '../..');

interface Row {
  measurement: string;
  tool: string;
  status: string;
  median?: number;
  samples: number[];
}

test('npm run bench -- --quick completes and writes every section', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-bench-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'quick.json');
  // The build is npm test's first step; the bench's own `npm run bench` would rebuild.
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `bench exited with ${code}:\n${output.slice(-4000)}`);

  const json = JSON.parse(await readFile(out, 'utf8')) as { sections: { id: string; rows: Row[] }[]; meta: { durationS: number } };
  const ids = json.sections.map((s) => s.id);
  assert.deepEqual(ids, ['bigFile', 'memory', 'manyClients', 'smallFiles', 'latency']);
  for (const section of json.sections) {
    const measured = section.rows.filter((r) => r.status === 'ok');
    assert.ok(measured.length > 0, `${section.id} has no measured row`);
    for (const row of measured) {
      assert.ok(typeof row.median === 'number' && row.median > 0, `${section.id} / ${row.measurement} / ${row.tool}: median ${row.median}`);
      assert.ok(row.samples.length > 0 && row.samples.every((v) => v > 0), `${section.id} / ${row.tool}: samples`);
    }
  }
  // lpf's own rows and their baselines must be measured; peers may be missing (then skipped).
  const find = (id: string, tool: string) => json.sections.find((s) => s.id === id)?.rows.filter((r) => r.tool === tool) ?? [];
  for (const [id, tool] of [
    ['bigFile', 'lpf CLI, plain TCP'],
    ['bigFile', 'raw Node TCP pipe'],
    ['manyClients', 'lpf client library, plain TCP'],
    ['smallFiles', 'lpf CLI, plain TCP'],
    ['latency', 'lpf client library, plain TCP'],
  ] as const) {
    const rows = find(id, tool);
    assert.ok(rows.length > 0 && rows.every((r) => r.status === 'ok'), `${id}: ${tool} was not measured`);
  }
  assert.ok(json.meta.durationS > 0);
});
