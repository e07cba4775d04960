// Bundles each CLI into one ES module so that a command starts with a single
// file read (start-up time matters when a script runs lpf once per file).
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // pino and the prompts stay external: they are loaded lazily, only when needed.
  external: ['pino', 'pino-pretty', '@inquirer/prompts', 'cli-progress'],
  logLevel: 'warning',
};

await Promise.all([
  build({ ...shared, entryPoints: ['src/cli/lpf.ts'], outfile: 'dist/lpf.js' }),
  build({ ...shared, entryPoints: ['src/cli/lpf-server.ts'], outfile: 'dist/lpf-server.js' }),
]);
