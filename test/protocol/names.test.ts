/** Rules for names that cross the wire: remote file names, user names, passwords. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LpfError, type ErrorCode } from '../../src/errors.js';
import {
  MAX_NAME_BYTES,
  MAX_PASSWORD_BYTES,
  MAX_USER_NAME,
  checkPassword,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
  joinRemote,
  normalizeRemoteName,
  normalizeRemotePath,
  normalizeUserName,
  quoteName,
  remoteBaseName,
} from '../../src/protocol/index.js';

const withCode = (code: ErrorCode) => (err: unknown) => err instanceof LpfError && err.code === code;

describe('normalizeRemoteName', () => {
  test('accepts accents, CJK, emoji, spaces and dots inside a name', () => {
    for (const name of [
      'résumé.pdf',
      '日本語のファイル.txt',
      '한국어',
      '🎉 party 🎂.png',
      'my file (1).txt',
      ' x ',
      '.hidden',
      '...',
      'a..b',
      'a',
    ]) {
      assert.equal(normalizeRemoteName(name), name);
    }
  });

  test('returns NFD input in NFC', () => {
    const nfd = 'Cafe\u0301 \u1112\u1161\u11ab.txt'; // "Café 한.txt" decomposed
    const nfc = 'Caf\u00e9 \ud55c.txt';
    assert.notEqual(nfd, nfc);
    assert.equal(normalizeRemoteName(nfd), nfc);
    assert.equal(normalizeRemoteName(nfc), nfc);
  });

  test('refuses empty, ".", ".." and path separators', () => {
    for (const name of ['', '.', '..', '/', 'a/b', '/etc', 'a/', '../x', '\\', 'a\\b', '..\\x']) {
      assert.throws(() => normalizeRemoteName(name), withCode('LPF_ERR_BAD_NAME'), JSON.stringify(name));
    }
  });

  test('refuses the bidirectional formatting characters, which reorder what a terminal shows', () => {
    for (const c of [
      '\u061c',
      '\u200e',
      '\u200f',
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ]) {
      assert.throws(() => normalizeRemoteName(`${c}cod.exe`), withCode('LPF_ERR_BAD_NAME'), JSON.stringify(c));
    }
    assert.equal(normalizeRemoteName('\u2065\u2029\u200d'), '\u2065\u2029\u200d', 'neighbours of the set stay allowed');
  });

  test('the refusal quotes the name with its control and bidi characters escaped, so the message reads as it is', () => {
    assert.equal(quoteName('\u202ecod.exe\u0085'), '"\\u202ecod.exe\\u0085"');
    assert.throws(
      () => normalizeRemoteName('\u202ecod.exe'),
      (err: Error) => err.message.includes('"\\u202ecod.exe"') && !err.message.includes('\u202e'),
    );
  });

  test('refuses NUL and control characters', () => {
    for (const name of ['a\0b', '\x01', 'a\x1f', 'a\x7f', 'a\x85', 'a\x9f', 'tab\there', 'line\nbreak', 'cr\r', '\x1b[31mred']) {
      assert.throws(() => normalizeRemoteName(name), withCode('LPF_ERR_BAD_NAME'), JSON.stringify(name));
    }
  });

  test(`accepts exactly ${MAX_NAME_BYTES} UTF-8 bytes and refuses one more`, () => {
    const fits = ['a'.repeat(255), `${'é'.repeat(127)}a`, `${'🎉'.repeat(63)}abc`, '語'.repeat(85)];
    for (const name of fits) {
      assert.equal(Buffer.byteLength(name), MAX_NAME_BYTES);
      assert.equal(normalizeRemoteName(name), name);
    }
    for (const name of ['a'.repeat(256), 'é'.repeat(128), `${'🎉'.repeat(63)}abcd`, `${'語'.repeat(85)}a`]) {
      assert.equal(Buffer.byteLength(name), MAX_NAME_BYTES + 1);
      assert.throws(() => normalizeRemoteName(name), withCode('LPF_ERR_BAD_NAME'));
    }
  });

  test('the byte limit applies to the NFC form', () => {
    const nfd = `${'e\u0301'.repeat(127)}a`; // 382 bytes as typed, 255 once composed
    assert.equal(normalizeRemoteName(nfd), `${'é'.repeat(127)}a`);
  });

  test('refuses lone surrogates', () => {
    for (const name of ['\ud800', 'a\udc00b', 'x\ud83d', '\ude00x']) {
      assert.throws(() => normalizeRemoteName(name), withCode('LPF_ERR_BAD_NAME'), JSON.stringify(name));
    }
    assert.equal(normalizeRemoteName('\ud83d\ude00'), '😀');
  });
});

describe('normalizeUserName', () => {
  test('accepts a-z, digits, ".", "_" and "-", and returns lower case', () => {
    assert.equal(normalizeUserName('alice'), 'alice');
    assert.equal(normalizeUserName('Alice'), 'alice');
    assert.equal(normalizeUserName('BOB.smith_2-x'), 'bob.smith_2-x');
    assert.equal(normalizeUserName('0day'), '0day');
    assert.equal(normalizeUserName('a.'), 'a.');
  });

  test(`accepts ${MAX_USER_NAME} characters and refuses ${MAX_USER_NAME + 1}`, () => {
    assert.equal(normalizeUserName('a'.repeat(MAX_USER_NAME)), 'a'.repeat(MAX_USER_NAME));
    assert.throws(() => normalizeUserName('a'.repeat(MAX_USER_NAME + 1)), withCode('LPF_ERR_BAD_USERNAME'));
  });

  test('refuses empty names, a leading punctuation mark, and anything outside the safe set', () => {
    for (const user of ['', '.alice', '-alice', '_alice', 'a b', 'a/b', 'a\\b', 'a:b', 'a@b', 'a+b', 'élise', '李', 'a\0', ' alice']) {
      assert.throws(() => normalizeUserName(user), withCode('LPF_ERR_BAD_USERNAME'), JSON.stringify(user));
    }
  });
});

describe('checkPassword', () => {
  test(`accepts 1 to ${MAX_PASSWORD_BYTES} bytes of anything`, () => {
    for (const password of ['x', ' ', 'a\0b', '🔑 with spaces', 'x'.repeat(MAX_PASSWORD_BYTES), 'é'.repeat(MAX_PASSWORD_BYTES / 2)]) {
      assert.doesNotThrow(() => checkPassword(password));
    }
  });

  test('refuses an empty password and one over the limit, counted in UTF-8 bytes', () => {
    for (const password of ['', 'x'.repeat(MAX_PASSWORD_BYTES + 1), `${'é'.repeat(MAX_PASSWORD_BYTES / 2)}x`]) {
      assert.throws(() => checkPassword(password), withCode('LPF_ERR_BAD_PASSWORD'));
    }
  });
});

describe('normalizeRemotePath', () => {
  test('folders joined by "/", extra slashes dropped, NFC', () => {
    assert.equal(normalizeRemotePath('docs/2026/report.pdf'), 'docs/2026/report.pdf');
    assert.equal(normalizeRemotePath('/docs//2026/'), 'docs/2026');
    assert.equal(normalizeRemotePath('cafe\u0301/e\u0301te\u0301'), 'café/été');
    assert.equal(normalizeRemotePath('', { allowTop: true }), '');
    assert.equal(normalizeRemotePath('/', { allowTop: true }), '');
  });

  test('every component is checked: no "." or "..", no backslash, no control characters', () => {
    for (const path of ['..', 'a/..', 'a/../b', './a', 'a/./b', 'a\\b', 'a/b\u0000', 'a/\u0007', '', '/', `${'x'.repeat(256)}/a`]) {
      assert.throws(() => normalizeRemotePath(path), withCode('LPF_ERR_BAD_NAME'), JSON.stringify(path));
    }
  });

  test('depth and length are bounded', () => {
    assert.equal(normalizeRemotePath(Array(MAX_PATH_DEPTH).fill('d').join('/')).split('/').length, MAX_PATH_DEPTH);
    assert.throws(
      () =>
        normalizeRemotePath(
          Array(MAX_PATH_DEPTH + 1)
            .fill('d')
            .join('/'),
        ),
      withCode('LPF_ERR_BAD_NAME'),
    );
    const long = Array(20).fill('x'.repeat(250)).join('/');
    assert.ok(Buffer.byteLength(long) > MAX_PATH_BYTES);
    assert.throws(() => normalizeRemotePath(long), withCode('LPF_ERR_BAD_NAME'));
  });

  test(`at the depth boundary: ${MAX_PATH_DEPTH - 1} folders and a name pass; ${MAX_PATH_DEPTH} folders and a name are refused, and the message says why`, () => {
    const folders = (n: number) => Array.from({ length: n }, (_, i) => `d${i}`);
    assert.equal(normalizeRemotePath([...folders(MAX_PATH_DEPTH - 1), 'f.txt'].join('/')).split('/').length, MAX_PATH_DEPTH);
    assert.throws(
      () => normalizeRemotePath([...folders(MAX_PATH_DEPTH), 'f.txt'].join('/')),
      (err: unknown) =>
        withCode('LPF_ERR_BAD_NAME')(err) &&
        // The path holds exactly 64 folders: "more than 64 folders deep" would be false.
        !/more than \d+ folders/.test((err as Error).message) &&
        (err as Error).message.includes(`${MAX_PATH_DEPTH + 1} names deep, over ${MAX_PATH_DEPTH}`),
    );
  });

  test('base name and join', () => {
    assert.equal(remoteBaseName('a/b/c'), 'c');
    assert.equal(remoteBaseName('c'), 'c');
    assert.equal(joinRemote('', 'c'), 'c');
    assert.equal(joinRemote('a', ''), 'a');
    assert.equal(joinRemote('a/b', 'c'), 'a/b/c');
  });
});
