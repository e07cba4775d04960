/** Starting a listener as a promise: the server's, the web client's and the health check's. */
import type { AddressInfo, Server } from 'node:net';

/** Listens on `host` (every interface when undefined) and `port`; resolves with the bound address, rejects on a listen error (EADDRINUSE). */
export async function listenOn(server: Server, host: string | undefined, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
