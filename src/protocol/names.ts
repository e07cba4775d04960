/**
 * Rules for names that cross the wire: remote file names and user names.
 * Pure functions, shared by the client (to fail early) and the server (to enforce).
 */
import { LpfError } from '../errors.js';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_PATH_DEPTH } from './constants.js';

/**
 * C0 controls, DEL and C1 controls (invisible, and some terminals act on them), and the bidirectional
 * formatting characters (ALM, LRM, RLM, the embeddings and overrides U+202A–U+202E, the isolates
 * U+2066–U+2069), which reorder what is shown: "\u202ecod.exe" would read as "exe.doc".
 */
export const CONTROL_CHARS = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const EVERY_CONTROL_CHAR = new RegExp(CONTROL_CHARS.source, 'gu');

/** A name in quotes for a message, with every character of CONTROL_CHARS written as \uXXXX, so that a terminal shows it and obeys none. */
export function quoteName(name: string): string {
  return JSON.stringify(name).replace(EVERY_CONTROL_CHAR, (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`);
}

/**
 * Checks a remote file name and returns it in Unicode NFC, so that the same
 * name typed on macOS (NFD) and Linux (NFC) is one file. A name is a single
 * path component: no separators, no "." or "..", no control characters.
 */
export function normalizeRemoteName(name: string): string {
  const nfc = name.normalize('NFC');
  const bad = (why: string) => new LpfError('LPF_ERR_BAD_NAME', `invalid remote name ${quoteName(name)}: ${why}`);
  if (nfc.length === 0) throw bad('the name is empty');
  if (nfc === '.' || nfc === '..') throw bad('"." and ".." are not file names');
  if (nfc.includes('/') || nfc.includes('\\')) throw bad('a name may not contain "/" or "\\"');
  if (CONTROL_CHARS.test(nfc)) throw bad('a name may not contain NUL, control characters or bidirectional formatting characters');
  if (Buffer.byteLength(nfc, 'utf8') > MAX_NAME_BYTES) throw bad(`the name is over ${MAX_NAME_BYTES} bytes in UTF-8`);
  if (!nfc.isWellFormed()) throw bad('the name has an unpaired surrogate');
  return nfc;
}

/**
 * Checks a remote path ("docs/2026/report.pdf": components joined by "/") and
 * returns it in NFC with every component checked as normalizeRemoteName does.
 * A leading or trailing "/" and repeated "/" are dropped, so "/docs/" is
 * "docs". The empty path is the top of the user's storage, allowed only where
 * `allowTop` says so (listing it, for instance).
 */
export function normalizeRemotePath(path: string, options: { allowTop?: boolean } = {}): string {
  const nfc = path.normalize('NFC');
  const bad = (why: string) => new LpfError('LPF_ERR_BAD_NAME', `invalid remote path ${quoteName(path)}: ${why}`);
  if (nfc.includes('\\')) throw bad('use "/" between folders; "\\" may not appear in a path');
  const parts = nfc.split('/').filter((part) => part.length > 0);
  if (parts.length === 0) {
    if (options.allowTop) return '';
    throw bad(nfc.length === 0 ? 'the path is empty' : 'the top folder itself cannot be used here');
  }
  if (parts.length > MAX_PATH_DEPTH)
    throw bad(`${parts.length} names deep, over ${MAX_PATH_DEPTH} (the folders and the name itself count)`);
  const normalized = parts.map((part) => normalizeRemoteName(part)).join('/');
  if (Buffer.byteLength(normalized, 'utf8') > MAX_PATH_BYTES) throw bad(`the path is over ${MAX_PATH_BYTES} bytes in UTF-8`);
  return normalized;
}

/** The last component of a normalized remote path. */
export function remoteBaseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The folder a normalized remote path is in ("" for the top). */
export function remoteParent(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}

/** Joins normalized remote paths, either of which may be the top (""). */
export function joinRemote(folder: string, name: string): string {
  return folder === '' ? name : name === '' ? folder : `${folder}/${name}`;
}

/** Longest user name, in characters. */
export const MAX_USER_NAME = 32;

// Checked before lower-casing: toLowerCase maps some non-ASCII letters (the Kelvin sign) onto ASCII ones.
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Checks a user name and returns its canonical (lower-case) form. The safe
 * set is ASCII letters, digits, ".", "_" and "-", starting with a letter or
 * digit, at most 32 characters; names are case-insensitive so that "Alice" and
 * "alice" cannot be two accounts on a case-insensitive file system.
 */
export function normalizeUserName(user: string): string {
  const lower = user.toLowerCase();
  const bad = (why: string) => new LpfError('LPF_ERR_BAD_USERNAME', `invalid user name ${JSON.stringify(user)}: ${why}`);
  if (lower.length === 0) throw bad('the name is empty');
  if (lower.length > MAX_USER_NAME) throw bad(`the name is over ${MAX_USER_NAME} characters`);
  if (!USER_NAME.test(user)) {
    throw bad('use letters a-z, digits, ".", "_" and "-", starting with a letter or digit');
  }
  return lower;
}

/** Shortest and longest password accepted at registration, in bytes of UTF-8. */
export const MIN_PASSWORD_BYTES = 1;
export const MAX_PASSWORD_BYTES = 1024;

/** Checks a password's length; its content is the user's business. */
export function checkPassword(password: string): void {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < MIN_PASSWORD_BYTES) throw new LpfError('LPF_ERR_BAD_PASSWORD', 'the password is empty');
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new LpfError('LPF_ERR_BAD_PASSWORD', `the password is over ${MAX_PASSWORD_BYTES} bytes`);
  }
}
