/**
 * GET /api/file?path=NAME: a stored file as a plain HTTP download, so the browser's own download
 * manager can pause and resume it: Range and If-Range, a strong ETag (size and modification time),
 * always an attachment, and never a document of this origin (nosniff, CSP sandbox). The bytes come
 * from the protocol's own `stat` and `download` commands, through a LocalExchange. A folder's path
 * gives the folder as a zip (zip-download.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LpfError } from '../../errors.js';
import { BLOCK_SIZE } from '../../protocol/index.js';
import { sessionExchange, type WebAuth } from './auth-routes.js';
import { attachment } from './http.js';
import type { LocalExchange } from './local-exchange.js';
import { serveZip } from './zip-download.js';

interface ByteRange {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
}

export async function serveDownload(auth: WebAuth, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { exchange } = await sessionExchange(auth, req);
  try {
    const { entry } = await exchange.request({ type: 'stat', path }, 'entry');
    if (entry.dir) return await serveZip(exchange, req, res, entry.name);
    const etag = `"${entry.size.toString(36)}-${entry.mtime.toString(36)}"`;
    const range = wantedRange(req, etag, entry.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${entry.size}` });
      return void res.end();
    }
    const { start, end } = range ?? { start: 0, end: entry.size - 1 };
    // The protocol resumes on whole blocks: start at the block holding `start`, skip to it.
    const from = start - (start % BLOCK_SIZE);
    exchange.receiveData(() => true); // nothing arrives before the file message
    const file = await exchange.request({ type: 'download', name: path, offset: from, size: entry.size, mtime: entry.mtime }, 'file');
    if (file.size !== entry.size || file.mtime !== entry.mtime || file.offset !== from) {
      throw new LpfError('LPF_ERR_BUSY', 'the file changed while it was being read; try again');
    }
    res.writeHead(range ? 206 : 200, fileHeaders(path, etag, entry.size, start, end, range !== undefined));
    if (req.method === 'HEAD' || end < start) return void res.end();
    await pipeRange(exchange, res, start - from, end - start + 1);
    // The whole rest was asked for: let the command finish (its `end`) rather than cut it off.
    if (end === entry.size - 1) await exchange.next('end');
  } finally {
    exchange.close();
  }
}

function fileHeaders(path: string, etag: string, size: number, start: number, end: number, partial: boolean): Record<string, string> {
  const name = path.split('/').pop() ?? 'download';
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(Math.max(0, end - start + 1)),
    'Content-Disposition': attachment(name),
    'Content-Security-Policy': "sandbox; default-src 'none'",
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'private, no-cache',
  };
  if (partial) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  return headers;
}

/** The one range asked for (several ranges, or an If-Range that no longer matches: the whole file). */
function wantedRange(req: IncomingMessage, etag: string, size: number): ByteRange | undefined | 'unsatisfiable' {
  const header = req.headers.range;
  if (header === undefined) return undefined;
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== etag) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [first, last] = [match[1] ?? '', match[2] ?? ''];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Sends `length` bytes of the download's data after skipping `skip`, with backpressure from the response. */
function pipeRange(exchange: LocalExchange, res: ServerResponse, skip: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let toSkip = skip;
    let left = length;
    res.once('close', () => (left > 0 ? reject(new LpfError('LPF_ERR_CONNECTION_LOST', 'the browser went away')) : resolve()));
    exchange.receiveData((chunk, more) => {
      if (left <= 0) return true;
      let part = chunk;
      if (toSkip > 0) {
        const n = Math.min(toSkip, part.length);
        toSkip -= n;
        part = part.subarray(n);
      }
      if (part.length === 0) return true;
      if (part.length > left) part = part.subarray(0, left);
      left -= part.length;
      // The chunk is a slice of the server's pooled buffer: copy it before the write returns the buffer.
      const ok = res.write(Buffer.from(part));
      if (left === 0) res.end(resolve);
      if (ok) return true;
      res.once('drain', more);
      return false;
    });
  });
}
