/** A loopback TCP proxy that can stop passing the client's bytes on at a point a test chooses, and go on later. */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface HoldingProxy {
  /** host:port to give lpf instead of the server's. */
  address: string;
  /**
   * From the connection that next carries `bytes` from its client in all, stop reading that client
   * (so its writes back up) and resolve; the bytes already read are passed on.
   */
  holdAfter(bytes: number): Promise<void>;
  /** Reads the held client again. */
  release(): void;
  /** Drops the held connections on both sides, as a network cut would; the proxy takes new ones. */
  cut(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(serverPort: number): Promise<HoldingProxy> {
  let hold: { after: number; reached: () => void } | undefined;
  const held: { client: Socket; upstream: Socket }[] = [];
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: serverPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    let seen = 0;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      seen += chunk.length;
      if (hold && seen >= hold.after) {
        client.pause();
        held.push({ client, upstream });
        hold.reached();
        hold = undefined;
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  const port = await new Promise<number>((resolve) =>
    proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)),
  );
  return {
    address: `127.0.0.1:${port}`,
    holdAfter: (bytes) => new Promise<void>((reached) => (hold = { after: bytes, reached })),
    release: () => {
      for (const { client } of held.splice(0)) client.resume();
    },
    cut: () => {
      for (const { client, upstream } of held.splice(0)) for (const s of [client, upstream]) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
