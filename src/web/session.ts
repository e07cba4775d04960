/** Sign-in, sign-up, the session check and logout: JSON over HTTP; the session itself stays in an HttpOnly cookie. */

export interface Me {
  user: string;
  csrf: string;
}

/** A failure with the server's code and words. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call(path: string, init: RequestInit): Promise<Me> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new RequestError('LPF_ERR_CONNECT', 'cannot reach the server; check your connection and try again');
  }
  const body = (await res.json().catch(() => ({}))) as Partial<Me & { code: string; message: string }>;
  if (!res.ok) throw new RequestError(body.code ?? 'LPF_ERR_SERVER', body.message ?? `the server answered ${res.status}`);
  return body as Me;
}

/** Who is signed in, or undefined. */
export async function currentUser(): Promise<Me | undefined> {
  try {
    return await call('/api/me', { method: 'GET' });
  } catch (err) {
    if (err instanceof RequestError && (err.code === 'LPF_ERR_NOT_LOGGED_IN' || err.code === 'LPF_ERR_SESSION')) return undefined;
    throw err;
  }
}

export function signIn(kind: 'login' | 'register', user: string, password: string): Promise<Me> {
  return call(`/api/${kind}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
}

export async function signOut(me: Me): Promise<void> {
  await call('/api/logout', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf }, body: '{}' });
}
