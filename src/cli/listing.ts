/** -list as an aligned table for people, or entries for --json. */
import { CONTROL_CHARS, type ListEntry } from '../protocol/index.js';
import { palette } from './colors.js';
import { formatBytes, formatTime } from './format.js';

// What a terminal could act on (the characters no remote name may have): a name is shown, never obeyed.
const EVERY_CONTROL_CHAR = new RegExp(CONTROL_CHARS.source, 'gu');

/** SIZE, MODIFIED, (with --long, LPF-SHA256,) NAME; folders end in "/". A header line on a terminal only. */
export function printListing(entries: ListEntry[], long: boolean, stream: NodeJS.WriteStream = process.stdout): void {
  if (entries.length === 0) {
    if (stream.isTTY) stream.write('nothing here\n');
    return;
  }
  const c = palette(stream);
  const rows = entries.map((e) => ({
    size: e.dir ? '-' : long ? String(e.size) : formatBytes(e.size),
    time: formatTime(e.mtime),
    checksum: long ? (e.dir ? '-'.padEnd(64) : (e.sha256 ?? '?'.repeat(64))) : '',
    name: e.dir ? c.folder(`${shown(e.name)}/`) : shown(e.name),
  }));
  const header = { size: 'SIZE', time: 'MODIFIED', checksum: long ? 'LPF-SHA256'.padEnd(64) : '', name: 'NAME' };
  const all = stream.isTTY ? [header, ...rows] : rows;
  const width = Math.max(...all.map((r) => r.size.length));
  const timeWidth = Math.max(...all.map((r) => r.time.length));
  const lines = all.map((r) => [r.size.padStart(width), r.time.padEnd(timeWidth), ...(long ? [r.checksum] : []), r.name].join('  '));
  if (stream.isTTY) lines[0] = c.dim(lines[0] as string);
  stream.write(`${lines.join('\n')}\n`);
}

/** One entry for --json: ISO time, `type` file or folder, the checksum when known. */
export function listingJson(e: ListEntry): Record<string, unknown> {
  return {
    name: e.name,
    type: e.dir ? 'folder' : 'file',
    size: e.size,
    modified: new Date(e.mtime).toISOString(),
    ...(e.sha256 ? { sha256: e.sha256 } : {}),
  };
}

function shown(name: string): string {
  return name.replace(EVERY_CONTROL_CHAR, '?');
}
