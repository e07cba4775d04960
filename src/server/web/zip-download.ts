/**
 * GET /api/file?path=FOLDER: the folder as a zip, built while it is sent. Entries are stored (not
 * compressed: the bytes are the files' own, and most files people move are compressed already), in
 * zip64 form when a size or offset needs it (yazl decides), each file's bytes from the protocol's own
 * `download` one file at a time, with backpressure from the browser back to the storage: memory stays
 * constant whatever the folder holds. The tree comes from a recursive `list`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import yazl from 'yazl';
import { LpfError } from '../../errors.js';
import { joinRemote, remoteBaseName, type ListEntry } from '../../protocol/index.js';
import { attachment } from './http.js';
import type { LocalExchange } from './local-exchange.js';

export async function serveZip(exchange: LocalExchange, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const entries = await listTree(exchange, path);
  res.writeHead(200, zipHeaders(path));
  if (req.method === 'HEAD') return void res.end();
  const zip = new yazl.ZipFile();
  const sent = new Promise<void>((resolve, reject) => {
    res.once('close', () => {
      if (res.writableFinished) return resolve();
      exchange.close(); // wakes the download waiting for a reader that is gone
      reject(new LpfError('LPF_ERR_CONNECTION_LOST', 'the browser went away'));
    });
    zip.once('error', reject); // a file whose bytes did not match its size
  });
  sent.catch(() => {}); // awaited below, unless a download failed first
  zip.outputStream.pipe(res);
  try {
    for (const entry of entries) {
      const name = zipName(entry);
      if (entry.dir) zip.addEmptyDirectory(name, { mtime: new Date(entry.mtime) });
      else await addFile(exchange, zip, joinRemote(path, entry.name), name);
    }
    zip.end();
    await sent;
  } catch (err) {
    res.destroy(); // the headers are gone: a cut-off body is how the browser learns the download failed
    throw err;
  }
}

/** Every entry below `path`, folders before their content, named relative to it. */
async function listTree(exchange: LocalExchange, path: string): Promise<ListEntry[]> {
  const entries: ListEntry[] = [];
  let page = await exchange.request({ type: 'list', path, recursive: true }, 'list_page');
  entries.push(...page.entries);
  while (!page.done) {
    page = await exchange.next('list_page');
    entries.push(...page.entries);
  }
  return entries;
}

/** Downloads one file into the zip as a stored entry; resolves once all its bytes were handed to the zip. */
async function addFile(exchange: LocalExchange, zip: yazl.ZipFile, remote: string, name: string): Promise<void> {
  const body = new PassThrough();
  exchange.receiveData((chunk, more) => {
    // The chunk is a slice of the server's pooled buffer: copied before the write returns the buffer.
    if (body.write(Buffer.from(chunk))) return true;
    body.once('drain', more);
    return false;
  });
  const file = await exchange.request({ type: 'download', name: remote }, 'file');
  // The size from the `file` answer, not from the listing: the file may have changed in between (yazl
  // fails the archive if the bytes do not match it).
  zip.addReadStream(body, name, { compress: false, size: file.size, mtime: new Date(file.mtime) });
  // `end` follows the data, and is decoded only once every chunk before it was taken.
  await exchange.next('end');
  body.end();
}

/**
 * The entry's name in the archive: its path below the folder, which the protocol's name rules already
 * keep relative and free of `.` and `..`; a backslash, a separator to Windows' unzip, becomes `_`.
 */
function zipName(entry: ListEntry): string {
  const name = entry.name.replace(/\\/g, '_');
  return entry.dir ? `${name}/` : name;
}

function zipHeaders(path: string): Record<string, string> {
  const name = `${remoteBaseName(path)}.zip`;
  return {
    'Content-Type': 'application/zip',
    'Content-Disposition': attachment(name),
    'Content-Security-Policy': "sandbox; default-src 'none'",
    'Cache-Control': 'private, no-store',
  };
}
