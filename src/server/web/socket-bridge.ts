/**
 * The page's WebSocket, served as one more lpf connection: its binary messages carry the protocol's
 * byte stream both ways, into a ClientConnection like a TCP client's (same commands, limits,
 * deadlines, quota, memory bounds). The bridge logs it in from the session cookie before the page
 * says anything: it sends `hello` and `session` on the page's behalf, so the page reads `welcome`
 * and `authed` (or an error) first, and the token never reaches a script.
 */
import type { WebSocket } from 'ws';
import { encodeMessage, PROTOCOL_VERSION } from '../../protocol/index.js';
import type { Attach } from './local-exchange.js';
import { PeerStream } from './peer-stream.js';

/** A WebSocket message may carry one DATA frame of the largest size, and its header. */
export const MAX_SOCKET_MESSAGE = 4 * 1024 * 1024 + 1024;

export function bridgeSocket(ws: WebSocket, attach: Attach, address: string, port: number, token: string): void {
  const peer = new PeerStream({
    remoteAddress: address,
    remotePort: port,
    send: (chunk, done) => ws.send(chunk, { binary: true }, (err) => done(err ?? null)),
    resumeSource: () => {
      if (ws.isPaused) ws.resume();
    },
    close: () => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
  });
  const refusal = attach(peer);
  if (refusal !== undefined) return void ws.close(1013, refusal.slice(0, 120));
  peer.deliver(encodeMessage({ type: 'hello', version: PROTOCOL_VERSION, agent: 'lpf-web' }));
  peer.deliver(encodeMessage({ type: 'session', token }));
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return void peer.destroy();
    if (!peer.deliver(data)) ws.pause();
  });
  ws.on('close', () => peer.finish());
  ws.on('error', () => peer.destroy());
}
