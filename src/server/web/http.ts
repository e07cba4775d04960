/** The HTTP details of the web side: security headers, bounded JSON bodies, cookies, the same-origin check, error answers. */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LpfError, toLpfError, type ErrorCode } from '../../errors.js';

/** Largest request body taken (a sign-in is well under 1 KiB): anything longer is refused unread. */
export const MAX_BODY_BYTES = 8 * 1024;

/** Only this origin's scripts, styles and connections; no frames, no plugins, no inline anything. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Headers on every answer. */
export function securityHeaders(res: ServerResponse, tls: boolean): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  LPF_ERR_AUTH: 401,
  LPF_ERR_SESSION: 401,
  LPF_ERR_NOT_LOGGED_IN: 401,
  LPF_ERR_USER_EXISTS: 409,
  LPF_ERR_BAD_USERNAME: 400,
  LPF_ERR_BAD_PASSWORD: 400,
  LPF_ERR_BAD_NAME: 400,
  LPF_ERR_USAGE: 400,
  LPF_ERR_NOT_FOUND: 404,
  LPF_ERR_IS_FOLDER: 400,
  LPF_ERR_THROTTLED: 429,
  LPF_ERR_BUSY: 503,
  LPF_ERR_SHUTDOWN: 503,
  LPF_ERR_CONNECTION_LOST: 503,
};

/** Answers a failure as JSON `{ code, message }`; a failure the client may not see in detail is LPF_ERR_SERVER. */
export function sendError(res: ServerResponse, err: unknown): void {
  let error = toLpfError(err);
  if (error.code === 'LPF_ERR_INTERNAL') error = new LpfError('LPF_ERR_SERVER', 'the server failed; its log has the details');
  if (res.headersSent) return void res.destroy();
  sendJson(res, STATUS[error.code] ?? 500, { code: error.code, message: error.message });
}

/** Refuses a request that is not this site's own (cross-origin, or no CSRF token): 403, whatever it asked. */
export function refuse(res: ServerResponse, why: string): void {
  sendJson(res, 403, { code: 'LPF_ERR_AUTH', message: `refused: ${why}` });
}

/** Reads a JSON object body of at most MAX_BODY_BYTES; anything else is LPF_ERR_USAGE. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new LpfError('LPF_ERR_USAGE', 'the request body must be application/json');
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY_BYTES) throw new LpfError('LPF_ERR_USAGE', 'the request body is too long');
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) throw new LpfError('LPF_ERR_USAGE', 'the request body is too long');
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new LpfError('LPF_ERR_USAGE', 'the request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new LpfError('LPF_ERR_USAGE', 'expected a JSON object');
  return body as Record<string, unknown>;
}

/** The value of cookie `name`, if sent. */
export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Whether a request comes from a page of this very server: its Origin (which browsers send on every
 * POST and WebSocket opening) must name the scheme and Host the request was sent to. Refuses
 * cross-site requests, including WebSocket hijacking, whatever the cookie's SameSite does.
 */
export function sameOrigin(req: IncomingMessage, tls: boolean): boolean {
  const { origin, host } = req.headers;
  if (origin === undefined || host === undefined) return false;
  return origin === `${tls ? 'https' : 'http'}://${host}`;
}

/** The CSRF token of a session: derived from its token, so it is bound to it, and revealing it reveals nothing of the token. */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update('lpf-web-csrf\0').update(sessionToken).digest('base64url');
}

/** A Content-Disposition that makes `name` a download: an ASCII stand-in in filename, the UTF-8 name in filename*. */
export function attachment(name: string): string {
  return `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
