/** Addresses and ports: the benchmark talks to this machine's loopback only. */
import { createServer } from 'node:net';

/** The one address every benchmark connection uses. */
export const LOOPBACK = '127.0.0.1';

/** Throws unless `host` is a loopback address: a guard against ever aiming traffic elsewhere. */
export function assertLoopback(host: string): void {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1') {
    throw new Error(`refusing to benchmark against ${host}: loopback only`);
  }
}

/** A port that was free on the loopback a moment ago (for peers that cannot bind port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
