/**
 * A real PostgreSQL 15 for tests: initdb into a temporary folder, started on a free loopback port,
 * stopped and removed at the end. One engine per test file (start it in before(), stop it in after()).
 * As root, the folder is given to the `postgres` system user and the engine runs as that user.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { skipUnlessInstalled } from './engines.js';

const run = promisify(execFile);

export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The engine's superuser, who also owns every test database. */
export const PG_USER = 'lpf';

/** A reason to skip tests needing PostgreSQL, or false. Under CI=true a missing engine fails them instead. */
export function skipWithoutPostgres(): string | false {
  return skipUnlessInstalled(
    existsSync(join(PG_BIN, 'initdb')),
    `PostgreSQL 15 is not installed (${PG_BIN}; apt-get install postgresql): PostgreSQL tests`,
  );
}

export interface Postgres {
  port: number;
  /** The URL of the default database `postgres`. */
  url: string;
  /** Creates a fresh empty database and returns its URL. */
  newDatabase(): Promise<string>;
  /** Stops the engine (fast shutdown: connections are cut); start() brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the engine and removes its folder. */
  destroy(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program, as the `postgres` user when we are root. */
async function pgRun(program: string, args: string[]): Promise<void> {
  const path = join(PG_BIN, program);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  await run(file, argv, { timeout: 60_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Initialises and starts an engine; rejects (never skips) when that fails. */
export async function startPostgres(): Promise<Postgres> {
  const dir = await mkdtemp(join(tmpdir(), 'lpf-pg-'));
  const data = join(dir, 'data');
  if (asRoot) await chown(dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', PG_USER, '--no-sync', '-E', 'UTF8']);
  let port = 0;
  const start = async () => {
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`;
    await pgRun('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt === 3) throw err; // another process took the port between freePort and start: try another
    }
  }
  const url = (db: string) => `postgres://${PG_USER}@127.0.0.1:${port}/${db}`;
  let databases = 0;
  const stop = () => pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  return {
    port,
    url: url('postgres'),
    async newDatabase() {
      const name = `lpf_test_${++databases}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
    start,
    async destroy() {
      await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
