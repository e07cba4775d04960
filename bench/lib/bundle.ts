/**
 * The benchmark's own helper programs (the raw Node pipe, the many-clients
 * worker) are bundled into single files with esbuild, like lpf's CLIs, so that
 * they start as plain `node file.mjs` — no TypeScript loader in the timed path.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Helpers {
  /** `node rawPipe serve|put|get|echo ...` */
  rawPipe: string;
  /** Forked by the many-clients case. */
  worker: string;
}

const here = fileURLToPath(new URL('.', import.meta.url));

export async function bundleHelpers(outDir: string): Promise<Helpers> {
  const entries = { rawPipe: join(here, '../raw/main.ts'), worker: join(here, '../cases/many-clients-worker.ts') };
  const helpers: Helpers = { rawPipe: join(outDir, 'raw-pipe.mjs'), worker: join(outDir, 'worker.mjs') };
  await Promise.all([
    build({
      entryPoints: [entries.rawPipe],
      outfile: helpers.rawPipe,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'warning',
    }),
    build({
      entryPoints: [entries.worker],
      outfile: helpers.worker,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'warning',
    }),
  ]);
  return helpers;
}
