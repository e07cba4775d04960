/**
 * Logging in: with a password (login), by creating an account (register) or with a login session
 * token (session); and logout, which ends the login session the connection holds, if any.
 */
import { LpfError } from '../../errors.js';
import { MAX_USER_NAME, normalizeUserName, type MessageOf } from '../../protocol/index.js';
import { defineCommand, type Command, type CommandContext } from './command.js';

async function passwordLogin(ctx: CommandContext, message: MessageOf<'login' | 'register'>): Promise<void> {
  const user = message.type === 'register' ? await registered(ctx, message) : await verified(ctx, message);
  ctx.setLogin({ user, token: undefined });
  ctx.log.info({ user, command: message.type }, message.type === 'register' ? 'registered' : 'logged in');
  if (!message.session) return void ctx.conn.send({ type: 'authed', user });
  const { token, expires } = await ctx.server.loginSessions.create(user);
  ctx.setLogin({ user, token });
  ctx.conn.send({ type: 'authed', user, token, expires });
}

export const login: Command<'login'> = defineCommand({ type: 'login', access: 'anonymous', ordered: false, run: passwordLogin });

export const register: Command<'register'> = defineCommand({ type: 'register', access: 'anonymous', ordered: false, run: passwordLogin });

/** Logs in with a login session token. Tokens are 256 random bits: a wrong one still counts against the address. */
export const session = defineCommand({
  type: 'session',
  access: 'anonymous',
  ordered: false,
  async run(ctx, message) {
    const { addressThrottle, loginSessions } = ctx.server;
    const addressKey = `addr:${ctx.address}`;
    const wait = await addressThrottle.waitFor([addressKey]);
    if (wait > 0) throw throttled(wait);
    const live = await loginSessions.get(message.token);
    if (!live) {
      await addressThrottle.failed([addressKey]);
      throw new LpfError('LPF_ERR_SESSION', 'the session has expired or was ended; log in again');
    }
    ctx.setLogin({ user: live.user, token: message.token });
    ctx.log.info({ user: live.user, command: 'session' }, 'logged in with a session');
    ctx.conn.send({ type: 'authed', user: live.user, expires: live.expires });
  },
});

/** Ends the connection's login session, if it has one; the connection stays logged in as its user. */
export const logout = defineCommand({
  type: 'logout',
  access: 'user',
  ordered: true,
  async run(ctx) {
    const token = ctx.login?.token;
    if (token) await ctx.server.loginSessions.revoke(token);
    ctx.log.info({ user: ctx.user, command: 'logout', session: token !== undefined }, 'logged out');
    ctx.setLogin({ user: ctx.user, token: undefined });
    ctx.conn.send({ type: 'ok' });
  },
});

async function registered(ctx: CommandContext, message: MessageOf<'register'>): Promise<string> {
  const { accounts, allowRegistration, limits, registrations } = ctx.server;
  if (!allowRegistration) throw new LpfError('LPF_ERR_AUTH', 'registration is turned off on this server');
  normalizeUserName(message.user);
  if ([...message.password].length < limits.minPasswordChars) {
    throw new LpfError('LPF_ERR_BAD_PASSWORD', `the password must be at least ${limits.minPasswordChars} characters long`);
  }
  if (!(await registrations.take(ctx.address))) {
    throw new LpfError('LPF_ERR_THROTTLED', 'too many new accounts from your address; try again later');
  }
  return accounts.register(message.user, message.password);
}

/**
 * A login is refused unchecked while its account name or its address is in
 * a delay window; unknown names are treated exactly like real ones.
 */
async function verified(ctx: CommandContext, message: MessageOf<'login'>): Promise<string> {
  const { accounts, accountThrottle, addressThrottle } = ctx.server;
  // Bounded key: a name sent by a client can be 64 KiB, a valid one is at most MAX_USER_NAME.
  const accountKey = `user:${message.user.slice(0, MAX_USER_NAME + 1).toLowerCase()}`;
  const addressKey = `addr:${ctx.address}`;
  const wait = Math.max(await accountThrottle.waitFor([accountKey]), await addressThrottle.waitFor([addressKey]));
  if (wait > 0) throw throttled(wait);
  // Through the gates, so parallel attempts cannot all pass as free ones; the window is checked again inside.
  await accountThrottle.enter(accountKey);
  await addressThrottle.enter(addressKey);
  try {
    const inside = Math.max(await accountThrottle.waitFor([accountKey]), await addressThrottle.waitFor([addressKey]));
    if (inside > 0) throw throttled(inside);
    const user = await accounts.verify(message.user, message.password);
    await accountThrottle.succeeded(accountKey);
    return user;
  } catch (err) {
    if (err instanceof LpfError && err.code === 'LPF_ERR_AUTH') {
      await accountThrottle.failed([accountKey]);
      await addressThrottle.failed([addressKey]);
    }
    throw err;
  } finally {
    addressThrottle.leave(addressKey);
    accountThrottle.leave(accountKey);
  }
}

function throttled(waitMs: number): LpfError {
  return new LpfError('LPF_ERR_THROTTLED', `too many failed logins; try again in ${Math.ceil(waitMs / 1000)} s`);
}
