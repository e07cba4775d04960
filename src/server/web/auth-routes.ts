/**
 * Sign-in, sign-up, the session check and logout over HTTP. Each is one lpf exchange inside this
 * process (LocalExchange): the `login`, `register`, `session` and `logout` handlers of the protocol
 * answer, with their rules, throttles and uniform errors. The session token goes only into an
 * HttpOnly, SameSite=Strict cookie (Secure with TLS): the page's scripts never see it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LpfError } from '../../errors.js';
import { cookie, csrfTokenOf, readJson, sendJson } from './http.js';
import { LocalExchange, type Attach } from './local-exchange.js';

export interface WebAuth {
  attach: Attach;
  tls: boolean;
}

/** The session cookie's name: with TLS, `__Host-` makes the browser insist on Secure, Path=/ and no Domain. */
export function sessionCookieName(tls: boolean): string {
  return tls ? '__Host-lpf-session' : 'lpf-session';
}

/** The session token a request carries, if any. */
export function sessionToken(req: IncomingMessage, tls: boolean): string | undefined {
  const token = cookie(req, sessionCookieName(tls));
  return token !== undefined && /^[A-Za-z0-9_-]{16,200}$/.test(token) ? token : undefined;
}

/** Opens an exchange logged in with the request's session; LPF_ERR_NOT_LOGGED_IN without one. */
export async function sessionExchange(auth: WebAuth, req: IncomingMessage): Promise<{ exchange: LocalExchange; token: string }> {
  const token = sessionToken(req, auth.tls);
  if (token === undefined) throw new LpfError('LPF_ERR_NOT_LOGGED_IN', 'sign in first');
  const exchange = await LocalExchange.open(auth.attach, ...peerOf(req), token);
  return { exchange, token };
}

export function peerOf(req: IncomingMessage): [string, number] {
  return [req.socket.remoteAddress ?? 'unknown', req.socket.remotePort ?? 0];
}

/** POST /api/login and /api/register: `{ user, password }`. */
export async function signIn(auth: WebAuth, req: IncomingMessage, res: ServerResponse, type: 'login' | 'register'): Promise<void> {
  const body = await readJson(req);
  const { user, password } = body;
  if (typeof user !== 'string' || typeof password !== 'string') throw new LpfError('LPF_ERR_USAGE', 'give a user name and a password');
  const exchange = await LocalExchange.open(auth.attach, ...peerOf(req));
  try {
    const authed = await exchange.request({ type, user, password, session: true }, 'authed');
    if (authed.token === undefined) throw new LpfError('LPF_ERR_SERVER', 'the server gave no session');
    setSessionCookie(res, auth.tls, authed.token, authed.expires);
    sendJson(res, 200, { user: authed.user, csrf: csrfTokenOf(authed.token) });
  } finally {
    exchange.close();
  }
}

/** GET /api/me: who the session cookie belongs to, and the CSRF token for this session. */
export async function whoAmI(auth: WebAuth, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { exchange, token } = await sessionExchange(auth, req);
  exchange.close();
  sendJson(res, 200, { user: exchange.user, csrf: csrfTokenOf(token) });
}

/** POST /api/logout (CSRF-checked by the caller): ends the session on the server and clears the cookie. */
export async function signOut(auth: WebAuth, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { exchange } = await sessionExchange(auth, req);
  try {
    await exchange.request({ type: 'logout' }, 'ok');
  } catch (err) {
    // The server's watch of ended sessions may end this very exchange before its `ok`: the session is over either way.
    if (!(err instanceof LpfError && err.code === 'LPF_ERR_SESSION')) throw err;
  } finally {
    exchange.close();
  }
  res.setHeader('Set-Cookie', `${sessionCookieName(auth.tls)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${auth.tls ? '; Secure' : ''}`);
  sendJson(res, 200, {});
}

function setSessionCookie(res: ServerResponse, tls: boolean, token: string, expires: number | undefined): void {
  const maxAge = expires !== undefined ? Math.max(0, Math.floor((expires - Date.now()) / 1000)) : undefined;
  const parts = [`${sessionCookieName(tls)}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (maxAge !== undefined) parts.push(`Max-Age=${maxAge}`);
  if (tls) parts.push('Secure');
  res.setHeader('Set-Cookie', parts.join('; '));
}
