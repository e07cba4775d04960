/**
 * The web side's HTTP and WebSocket rules, checked without a browser: what another site may not do,
 * the session cookie, the download headers and ranges, and the caps. The real lpf-server throughout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { FrameDecoder, type Message } from '../../src/protocol/index.js';
import { startWebServer, type WebServer } from '../helpers/browser.js';
import { asUser, runLpf, startServer, tempDir } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('web side rules', () => {
  let web: WebServer;
  let folder: { path: string; cleanup(): Promise<void> };
  let cookie: string;
  let csrf: string;
  const content = randomBytes(9 * 1024 * 1024 + 77);

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(`${web.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: web.url, ...headers },
      body: JSON.stringify(body),
    });

  before(async () => {
    [web, folder] = await Promise.all([startWebServer(), tempDir('lpf-web-sec-')]);
    await writeFile(join(folder.path, 'big.bin'), content);
    const up = await runLpf([web.server.address, '-upload', join(folder.path, 'big.bin')], { env: asUser('alice', 'alice-pass', true) });
    assert.equal(up.code, 0, up.stderr);
    const signedIn = await post('/api/login', { user: 'alice', password: 'alice-pass' });
    assert.equal(signedIn.status, 200);
    const setCookie = String(signedIn.headers['set-cookie']);
    assert.match(setCookie, /^__Host-lpf-session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    cookie = setCookie.split(';')[0] ?? '';
    csrf = (JSON.parse(signedIn.body.toString()) as { csrf: string }).csrf;
    assert.ok(!signedIn.body.toString().includes(cookie.split('=')[1] ?? '?'), 'the token is never in a body a script can read');
  });
  after(async () => {
    await web?.server.stop();
    await folder?.cleanup();
  });

  test('the page is served with a strict Content-Security-Policy and nosniff', async () => {
    const page = await call(`${web.url}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.ok(!/<script>/.test(page.body.toString()), 'no inline script');
  });

  test('another site may not sign in, and may not log out without the CSRF token', async () => {
    const evil = await post('/api/login', { user: 'alice', password: 'alice-pass' }, { Origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers['set-cookie'], undefined);
    const noOrigin = await call(`${web.url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(noOrigin.status, 403);
    assert.equal((await post('/api/logout', {}, { Cookie: cookie })).status, 403);
    assert.equal((await post('/api/logout', {}, { Cookie: cookie, 'X-CSRF-Token': 'wrong' })).status, 403);
    assert.equal((await call(`${web.url}/api/me`, { headers: { Cookie: cookie } })).status, 200, 'the session still holds');
  });

  test('a request body over the cap is refused', async () => {
    const long = await post('/api/login', { user: 'alice', password: 'x'.repeat(100_000) });
    assert.equal(long.status, 400);
  });

  test('the WebSocket opens only from this site, with a session, and is logged in from the cookie', async () => {
    const open = (headers: Record<string, string>) =>
      new Promise<{ status: number; messages: Message[] }>((resolve) => {
        const ws = new WebSocket(`${web.url.replace('https', 'wss')}/api/socket`, { headers, rejectUnauthorized: false });
        const messages: Message[] = [];
        const decoder = new FrameDecoder({ message: (m) => messages.push(m), data: () => undefined });
        ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, messages }));
        ws.on('message', (data: Buffer) => {
          decoder.push(data);
          if (messages.length >= 2) {
            ws.close();
            resolve({ status: 101, messages });
          }
        });
      });
    assert.equal((await open({ Origin: 'https://evil.example', Cookie: cookie })).status, 403);
    assert.equal((await open({ Cookie: cookie })).status, 403);
    assert.equal((await open({ Origin: web.url })).status, 401);
    const ok = await open({ Origin: web.url, Cookie: cookie });
    assert.equal(ok.status, 101);
    assert.deepEqual(
      ok.messages.map((m) => m.type),
      ['welcome', 'authed'],
    );
    assert.equal((ok.messages[1] as { user: string }).user, 'alice');
  });

  test('downloads are attachments with a strong ETag, and serve ranges (across a block boundary too)', async () => {
    const url = `${web.url}/api/file?path=big.bin`;
    const whole = await call(url, { headers: { Cookie: cookie } });
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, content);
    const { headers } = whole;
    assert.match(String(headers['content-disposition']), /^attachment; filename="big.bin"/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.match(String(headers['content-security-policy']), /^sandbox/);
    assert.equal(headers['accept-ranges'], 'bytes');
    const etag = String(headers.etag);
    assert.match(etag, /^"[^"]+"$/);

    const at = 4 * 1024 * 1024 - 3;
    const part = await call(url, { headers: { Cookie: cookie, Range: `bytes=${at}-${at + 9}`, 'If-Range': etag } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes ${at}-${at + 9}/${content.length}`);
    assert.deepEqual(part.body, content.subarray(at, at + 10));
    const tail = await call(url, { headers: { Cookie: cookie, Range: 'bytes=-5' } });
    assert.deepEqual(tail.body, content.subarray(content.length - 5));
    const stale = await call(url, { headers: { Cookie: cookie, Range: 'bytes=0-9', 'If-Range': '"other"' } });
    assert.equal(stale.status, 200);
    assert.equal(stale.body.length, content.length);
    const beyond = await call(url, { headers: { Cookie: cookie, Range: `bytes=${content.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal((await call(url)).status, 401, 'no session, no file');
    assert.equal((await call(`${web.url}/api/file?path=nothing-here`, { headers: { Cookie: cookie } })).status, 404);
  });

  test('logout with the CSRF token ends the session on the server', async () => {
    const other = await post('/api/login', { user: 'alice', password: 'alice-pass' });
    const otherCookie = String(other.headers['set-cookie']).split(';')[0] ?? '';
    const { csrf: otherCsrf } = JSON.parse(other.body.toString()) as { csrf: string };
    assert.notEqual(otherCsrf, csrf, 'the CSRF token is bound to its session');
    const out = await post('/api/logout', {}, { Cookie: otherCookie, 'X-CSRF-Token': otherCsrf });
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await call(`${web.url}/api/me`, { headers: { Cookie: otherCookie } })).status, 401);
    assert.equal((await call(`${web.url}/api/me`, { headers: { Cookie: cookie } })).status, 200, 'other sessions hold');
  });
});

test('--no-web starts no web client', async () => {
  const server = await startServer({ args: ['--no-web'] });
  try {
    await waitFor(() => server.logs.some((l) => l.msg === 'listening'), { what: 'the server listens' });
    assert.ok(!server.logs.some((l) => l.msg === 'web client listening'));
  } finally {
    await server.stop();
  }
});

test('raw connections to the web port count against --max-per-address: past it they are closed unread', async () => {
  const web = await startWebServer({ args: ['--max-per-address', '2'] });
  const port = Number(new URL(web.url).port);
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
      socket.on('error', reject);
    });
  const sockets: Socket[] = [];
  try {
    sockets.push(await open(), await open()); // idle: no TLS, no request
    const third = await open();
    sockets.push(third);
    await once(third, 'close');
    assert.ok(web.server.logs.some((l) => l.msg === 'web connection refused'));
    sockets[0]?.destroy();
    // Once the server has seen one go, a request fits again (its lpf exchange has a tally of its own).
    await waitFor(async () => (await call(`${web.url}/api/me`).catch(() => undefined))?.status === 401, {
      what: 'a slot is free again',
    });
  } finally {
    for (const s of sockets) s.destroy();
    await web.server.stop();
  }
});
