// Bundles each CLI into one ES module so that a command starts with a single
// file read (start-up time matters when a script runs lpf once per file).
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // These stay external, loaded from node_modules when needed: the prompts, the progress bar, and
  // the certificate maker (only when the server makes its own certificate). Bundled, the x509 code
  // made the server's bundle six times larger and cost 2.5 MiB of resident memory even unused. The
  // PostgreSQL client is loaded only with --accounts.
  external: ['pino', 'pino-pretty', '@inquirer/prompts', 'cli-progress', '@peculiar/x509', 'reflect-metadata', 'pg'],
  logLevel: 'warning',
};

await Promise.all([
  build({ ...shared, entryPoints: ['src/cli/lpf.ts'], outfile: 'dist/lpf.js' }),
  build({ ...shared, entryPoints: ['src/cli/lpf-server.ts'], outfile: 'dist/lpf-server.js' }),
]);
