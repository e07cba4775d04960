/** Shared codec test helpers: one valid sample of every message, and a decoder that records what it hands over. */
import { FrameDecoder, type Message, type MessageOf, type MessageType } from '../../src/protocol/index.js';

/** One valid message of every type; the mapped type makes a new message type a compile error here until it has a sample. */
export const SAMPLES: { readonly [T in MessageType]: MessageOf<T> } = {
  hello: { type: 'hello', version: 1, agent: 'lpf/0.1.0' },
  welcome: { type: 'welcome', version: 1, agent: 'lpf-server/0.1.0', maxData: 4 * 1024 * 1024 },
  ping: { type: 'ping', nonce: 4_294_967_295 },
  pong: { type: 'pong', nonce: 0 },
  error: { type: 'error', code: 'LPF_ERR_NOT_FOUND', message: 'no such file: "ré sumé.pdf"' },
  ok: { type: 'ok' },
  register: { type: 'register', user: 'alice', password: 'pässwörd "quoted" \\ 🔑' },
  login: { type: 'login', user: 'Alice', password: 'hunter2' },
  authed: { type: 'authed', user: 'alice' },
  session: { type: 'session', token: 'aW52YWxpZC1idXQtd2VsbC1mb3JtZWQ' },
  logout: { type: 'logout' },
  list: { type: 'list', path: 'docs/2026', recursive: true },
  list_page: {
    type: 'list_page',
    entries: [
      { name: 'a.txt', size: 0, mtime: 0 },
      { name: 'photos', size: 0, mtime: 1_700_000_000_000, dir: true },
      { name: '日本語 ファイル 🎉.bin', size: Number.MAX_SAFE_INTEGER, mtime: 1_700_000_000_123 },
      { name: 'movie.bin', size: 50 * 1024 * 1024, mtime: 1_700_000_000_456, received: 12 * 1024 * 1024 },
    ],
    done: true,
  },
  delete: { type: 'delete', name: 'old report.pdf' },
  mkdir: { type: 'mkdir', path: 'docs/2026/été' },
  rename: { type: 'rename', from: 'docs/a.txt', to: 'archive/a.txt' },
  stat: { type: 'stat', path: 'docs' },
  entry: { type: 'entry', entry: { name: 'docs', size: 0, mtime: 1_700_000_000_000, dir: true } },
  copy: { type: 'copy', from: 'photos/été', to: 'backup/photos été 2025' },
  upload: { type: 'upload', name: 'café.tar.gz', size: 10 * 1024 * 1024 * 1024 },
  ready: { type: 'ready', offset: 0 },
  end: { type: 'end', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  stored: {
    type: 'stored',
    name: 'café.tar.gz',
    size: 3,
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  },
  download: { type: 'download', name: 'photo.jpg', offset: 4_194_304, size: 123_456_789, mtime: 1_700_000_000_000 },
  file: { type: 'file', name: 'photo.jpg', size: 123_456, mtime: 1_700_000_000_000, offset: 0 },
};

/** Every sample, in SPECS order. */
export function sampleMessages(): Message[] {
  return Object.values(SAMPLES);
}

/** What a decoder handed over: messages, and DATA pieces (frame boundaries are not significant). */
export type Event = { kind: 'message'; message: Message } | { kind: 'data'; bytes: Buffer };

/** A decoder that records every message and data piece it delivers. */
export function recordingDecoder(): { decoder: FrameDecoder; events: Event[] } {
  const events: Event[] = [];
  const decoder = new FrameDecoder({
    message: (message) => events.push({ kind: 'message', message }),
    data: (bytes) => events.push({ kind: 'data', bytes }),
  });
  return { decoder, events };
}

/** Feeds `chunks` to a fresh decoder and returns the events, normalised (see normalize()). */
export function decodeChunks(chunks: readonly Buffer[]): Event[] {
  const { decoder, events } = recordingDecoder();
  for (const chunk of chunks) decoder.push(chunk);
  return normalize(events);
}

/** Merges adjacent data pieces and drops empty ones, so that different chunkings of one stream compare equal. */
export function normalize(events: readonly Event[]): Event[] {
  const out: Event[] = [];
  let pieces: Buffer[] = [];
  const flush = () => {
    if (pieces.length > 0) out.push({ kind: 'data', bytes: Buffer.concat(pieces) });
    pieces = [];
  };
  for (const event of events) {
    if (event.kind === 'data') {
      if (event.bytes.length > 0) pieces.push(event.bytes);
    } else {
      flush();
      out.push(event);
    }
  }
  flush();
  return out;
}

/** A raw frame with any type byte and payload, including ones the encoder would never produce. */
export function rawFrame(typeCode: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length + 1, 0);
  header[4] = typeCode;
  return Buffer.concat([header, body]);
}

/** Cuts `buf` at the given offsets (any order, duplicates and out-of-range values ignored). */
export function splitAt(buf: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < buf.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, buf.length]) {
    chunks.push(buf.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

/** A small seeded PRNG (mulberry32), so "random" splits are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
