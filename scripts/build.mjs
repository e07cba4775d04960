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
  // The S3 storage (and the AWS SDK it brings, over 1 MiB) is a chunk of its own, loaded only by a
  // server started with --storage s3://…: a server on the local disk starts and runs without it.
  build({
    ...shared,
    entryPoints: { 'lpf-server': 'src/cli/lpf-server.ts' },
    outdir: 'dist',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // The AWS SDK is CommonJS and requires Node's modules at run time: an ES module needs a require for that.
    banner: { js: "import { createRequire as lpfCreateRequire } from 'node:module'; const require = lpfCreateRequire(import.meta.url);" },
  }),
]);
