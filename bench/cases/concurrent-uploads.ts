/**
 * Part of case 6: the server's peak resident memory while N clients upload at once, each its own file of a
 * few S3 parts (distinct content, so a mix-up cannot pass: the server's 'stored' must name each file's
 * checksum). The clients run in the bench's process through the client library, connected and logged in
 * before the measured part; only the server's memory is measured (VmHWM).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LpfClient } from '../../src/client/client.js';
import type { TlsPolicy } from '../../src/client/dial.js';
import { LOOPBACK } from '../lib/net.js';
import { PeakRss } from '../lib/rss.js';
import type { LpfSecurity } from '../lib/servers.js';

export interface ConcurrentUploads {
  clients: number;
  fileBytes: number;
  /** A deadline for the whole measurement: connecting, logging in and every upload. */
  timeoutMs: number;
}

/** The peak RSS (MiB) of the server `pid` while `clients` upload their file through it at once. */
export async function peakRssOfConcurrentUploads(
  server: { pid: number; port: number },
  security: LpfSecurity,
  login: { user: string; password: string },
  dir: string,
  plan: ConcurrentUploads,
): Promise<number> {
  await mkdir(dir, { recursive: true });
  const files = Array.from({ length: plan.clients }, (_, i) => join(dir, `c${i}.bin`));
  // One random block, shifted per client: distinct files without generating clients × size random bytes.
  const block = randomBytes(plan.fileBytes + plan.clients);
  for (const [i, file] of files.entries()) await writeFile(file, block.subarray(i, i + plan.fileBytes));
  const tls: TlsPolicy = security.tls ? { mode: 'ca', ca: security.cert.cert } : { mode: 'plain' };
  const clients: LpfClient[] = [];
  const deadline = AbortSignal.timeout(plan.timeoutMs);
  try {
    for (let i = 0; i < plan.clients; i++) {
      const client = await LpfClient.connect(
        { host: LOOPBACK, port: server.port },
        { tls, connectTimeoutMs: 60_000, idleTimeoutMs: plan.timeoutMs },
      );
      clients.push(client);
      await client.login(login.user, login.password);
      deadline.throwIfAborted();
    }
    const rss = new PeakRss(server.pid, false);
    rss.start();
    const timedOut = new Promise<never>((_, reject) =>
      deadline.addEventListener('abort', () => reject(new Error('the concurrent uploads ran out of time'))),
    );
    timedOut.catch(() => {}); // only raced below
    try {
      await Promise.race([Promise.all(clients.map((client, i) => client.upload(files[i]!, `concurrent-${i}.bin`))), timedOut]);
    } catch (err) {
      rss.stop();
      throw err;
    }
    return rss.stop().peakMiB;
  } finally {
    for (const client of clients) client.close();
    await rm(dir, { recursive: true, force: true });
  }
}
