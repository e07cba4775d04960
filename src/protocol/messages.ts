/**
 * The messages of the lpf protocol and their validation. A control message is
 * a frame whose payload is a UTF-8 JSON object; DATA frames carry raw bytes and
 * are not messages (the decoder hands them over as chunks).
 */
import { LpfError } from '../errors.js';

export interface ListEntry {
  name: string;
  size: number;
  /** Modification time, milliseconds since the Unix epoch. */
  mtime: number;
  /** The content checksum, when the listing was asked for with `long` (files only). */
  sha256?: string;
  /** True for a folder (its size is 0). */
  dir?: boolean;
  /** In a listing of cut-off uploads (`list` with `partial`): the bytes the server kept, whole blocks. */
  received?: number;
}

export type Message =
  | { type: 'hello'; version: number; agent: string }
  | { type: 'welcome'; version: number; agent: string; maxData: number }
  | { type: 'ping'; nonce: number }
  | { type: 'pong'; nonce: number }
  | { type: 'error'; code: string; message: string }
  | { type: 'ok' }
  /** With `session`, the answer carries a token for later connections (see `session`). */
  | { type: 'register'; user: string; password: string; session?: boolean }
  | { type: 'login'; user: string; password: string; session?: boolean }
  /** Logs in with a session token instead of a password. */
  | { type: 'session'; token: string }
  | { type: 'logout' }
  | { type: 'authed'; user: string; token?: string; expires?: number }
  /**
   * Lists the folder `path` (default: the top). With `recursive`, the whole tree below it, each
   * entry named by its path relative to `path`, folders before their content. With `partial`, instead,
   * the cut-off uploads kept for a resume whose file would go in `path`: each entry's `size` is the whole
   * file's, `received` what the server kept of it, `mtime` when it last grew.
   */
  | { type: 'list'; path?: string; long?: boolean; recursive?: boolean; partial?: boolean }
  | { type: 'list_page'; entries: ListEntry[]; done: boolean }
  /** Deletes a file or an empty folder. */
  | { type: 'delete'; name: string }
  /** Creates a folder and any missing parents; an existing folder is fine. */
  | { type: 'mkdir'; path: string }
  /** Renames (moves) a file or folder; `to` must not exist, its parent must. */
  | { type: 'rename'; from: string; to: string }
  /** Copies a file or folder on the server (no data crosses the network); `to` must not exist, its parent must. */
  | { type: 'copy'; from: string; to: string }
  /** Describes one path: answered by `entry` (its name is the path as normalized). */
  | { type: 'stat'; path: string }
  | { type: 'entry'; entry: ListEntry }
  /** `key` names the sender's content, so that a cut-off upload of the same content can resume. */
  | { type: 'upload'; name: string; size: number; key?: string }
  | { type: 'ready'; offset: number }
  | { type: 'end'; sha256: string }
  | { type: 'stored'; name: string; size: number; sha256: string }
  /** With `offset`, resume a download, provided the file still has this `size` and `mtime`. */
  | { type: 'download'; name: string; offset?: number; size?: number; mtime?: number }
  /** DATA follows from `offset` (0 unless a resume was asked for and the file is unchanged). */
  | { type: 'file'; name: string; size: number; mtime: number; offset: number };

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

type BaseKind = 'string' | 'uint' | 'bool' | 'sha256' | 'entry' | 'entries';
/** A trailing "?" marks an optional field: absent is fine, present must be valid. */
type FieldKind = BaseKind | `${BaseKind}?`;

interface Spec {
  code: number;
  fields: Record<string, FieldKind>;
}

/** Frame type byte of DATA frames (raw file bytes, not JSON). */
export const DATA_TYPE = 0x40;

/** Type byte and JSON fields of every control message. docs/PROTOCOL.md mirrors this table. */
export const SPECS: { readonly [T in MessageType]: Spec } = {
  hello: { code: 0x01, fields: { version: 'uint', agent: 'string' } },
  welcome: { code: 0x02, fields: { version: 'uint', agent: 'string', maxData: 'uint' } },
  ping: { code: 0x03, fields: { nonce: 'uint' } },
  pong: { code: 0x04, fields: { nonce: 'uint' } },
  error: { code: 0x05, fields: { code: 'string', message: 'string' } },
  ok: { code: 0x06, fields: {} },
  register: { code: 0x10, fields: { user: 'string', password: 'string', session: 'bool?' } },
  login: { code: 0x11, fields: { user: 'string', password: 'string', session: 'bool?' } },
  authed: { code: 0x12, fields: { user: 'string', token: 'string?', expires: 'uint?' } },
  session: { code: 0x13, fields: { token: 'string' } },
  logout: { code: 0x14, fields: {} },
  list: { code: 0x20, fields: { path: 'string?', long: 'bool?', recursive: 'bool?', partial: 'bool?' } },
  list_page: { code: 0x21, fields: { entries: 'entries', done: 'bool' } },
  delete: { code: 0x22, fields: { name: 'string' } },
  mkdir: { code: 0x23, fields: { path: 'string' } },
  rename: { code: 0x24, fields: { from: 'string', to: 'string' } },
  stat: { code: 0x25, fields: { path: 'string' } },
  entry: { code: 0x26, fields: { entry: 'entry' } },
  copy: { code: 0x27, fields: { from: 'string', to: 'string' } },
  upload: { code: 0x30, fields: { name: 'string', size: 'uint', key: 'string?' } },
  ready: { code: 0x31, fields: { offset: 'uint' } },
  end: { code: 0x32, fields: { sha256: 'sha256' } },
  stored: { code: 0x33, fields: { name: 'string', size: 'uint', sha256: 'sha256' } },
  download: { code: 0x34, fields: { name: 'string', offset: 'uint?', size: 'uint?', mtime: 'uint?' } },
  file: { code: 0x35, fields: { name: 'string', size: 'uint', mtime: 'uint', offset: 'uint' } },
};

const TYPE_BY_CODE = new Map<number, MessageType>((Object.keys(SPECS) as MessageType[]).map((type) => [SPECS[type].code, type]));

/** The message type for a frame type byte, or undefined when the byte is unknown. */
export function messageTypeOf(code: number): MessageType | undefined {
  return TYPE_BY_CODE.get(code);
}

function protocolError(message: string): LpfError {
  return new LpfError('LPF_ERR_PROTOCOL', message);
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isEntry(value: unknown): value is ListEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.name === 'string' &&
    isUint(e.size) &&
    isUint(e.mtime) &&
    fieldIsValid('sha256?', e.sha256) &&
    fieldIsValid('bool?', e.dir) &&
    fieldIsValid('uint?', e.received)
  );
}

function fieldIsValid(kind: FieldKind, value: unknown): boolean {
  if (kind.endsWith('?')) return value === undefined || fieldIsValid(kind.slice(0, -1) as BaseKind, value);
  switch (kind as BaseKind) {
    case 'string':
      return typeof value === 'string';
    case 'uint':
      return isUint(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'sha256':
      return typeof value === 'string' && SHA256_HEX.test(value);
    case 'entry':
      return isEntry(value);
    case 'entries':
      return Array.isArray(value) && value.every(isEntry);
  }
}

/**
 * Builds a typed message from a frame's type and parsed JSON body, checking
 * every declared field. Unknown extra fields are dropped, so newer peers may add
 * optional fields without breaking older ones.
 */
export function validateMessage(type: MessageType, body: unknown): Message {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw protocolError(`${type}: payload is not a JSON object`);
  }
  const source = body as Record<string, unknown>;
  const message: Record<string, unknown> = { type };
  for (const [field, kind] of Object.entries(SPECS[type].fields)) {
    const value = source[field];
    if (!fieldIsValid(kind, value)) {
      throw protocolError(`${type}: field "${field}" is missing or not a valid ${kind.replace('?', '')}`);
    }
    if (value !== undefined) message[field] = value;
  }
  return message as Message;
}

/**
 * Splits a listing into list_page batches bounded both in count and in encoded
 * bytes, so no page can pass the control frame limit whatever the names. Always
 * at least one page (an empty listing is one empty page).
 */
export function paginateEntries(entries: ListEntry[], maxCount: number, maxBytes: number): ListEntry[][] {
  const pages: ListEntry[][] = [];
  let page: ListEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry), 'utf8') + 1;
    if (page.length > 0 && (page.length >= maxCount || bytes + size > maxBytes)) {
      pages.push(page);
      page = [];
      bytes = 0;
    }
    page.push(entry);
    bytes += size;
  }
  pages.push(page);
  return pages;
}
