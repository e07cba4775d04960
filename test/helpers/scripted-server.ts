/** A fake lpf server for client tests: it answers what the real server never would (RawPeer's counterpart). */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { FrameDecoder, encodeMessage, type Message } from '../../src/protocol/index.js';

/** Answers one message from the client under test: `reply` sends a message, `socket` takes raw bytes. */
export type Script = (message: Message, reply: (answer: Message) => void, socket: Socket) => void;

export interface ScriptedServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, an ephemeral port, plain TCP; each message a client sends goes to `script` (DATA is dropped). */
export async function startScriptedServer(script: Script): Promise<ScriptedServer> {
  const server = createServer((socket) => {
    const reply = (answer: Message) => socket.write(encodeMessage(answer));
    const decoder = new FrameDecoder({ data: () => {}, message: (m) => script(m, reply, socket) });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
