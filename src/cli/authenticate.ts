/**
 * How the CLI logs in, in order: credentials from the environment (scripts),
 * a stored session for this server, or prompts on a terminal, which also start
 * a session so that the next commands need not ask. Plus -login, -logout and
 * -whoami, which manage that session.
 */
import type { LpfClient } from '../client/client.js';
import type { SessionFile } from '../client/sessions.js';
import { LpfError } from '../errors.js';
import { credentialsFromEnv, noCredentials, promptCredentials, promptLoginAgain, type Credentials } from './credentials.js';
import { formatTime } from './format.js';
import type { Output } from './output.js';

export interface AuthContext {
  connect(): Promise<LpfClient>;
  /** host:port, as stored sessions are keyed. */
  server: string;
  sessions: SessionFile;
  interactive: boolean;
  out: Output;
}

/** A connection logged in for a command; the caller closes it. */
export async function logIn(ctx: AuthContext): Promise<LpfClient> {
  const fromEnv = credentialsFromEnv(process.env);
  if (fromEnv) return withClient(ctx, (client) => passwordLogin(client, fromEnv));
  const stored = await ctx.sessions.get(ctx.server);
  if (stored) {
    try {
      return await withClient(ctx, (client) => client.resumeSession(stored.token));
    } catch (err) {
      if ((err as LpfError).code !== 'LPF_ERR_SESSION') throw err;
      await ctx.sessions.delete(ctx.server);
      if (!ctx.interactive) throw sessionEnded(ctx.server);
      process.stderr.write(`Your session with ${ctx.server} has ended; please log in again.\n`);
    }
  }
  if (!ctx.interactive) throw noCredentials();
  return (await promptedSession(ctx)).client;
}

/** -login: log in (environment or prompts) and keep a session for the next commands. */
export async function loginCommand(ctx: AuthContext): Promise<void> {
  const fromEnv = credentialsFromEnv(process.env);
  if (!fromEnv && !ctx.interactive) throw noCredentials();
  const { client, session } = fromEnv ? await envSession(ctx, fromEnv) : await promptedSession(ctx);
  try {
    const expires = new Date(session.expires).toISOString();
    ctx.out.result(`Logged in to ${ctx.server} as ${session.user}; the session lasts until ${formatTime(session.expires)}.`, {
      server: ctx.server,
      user: session.user,
      expires,
    });
  } finally {
    client.close();
  }
}

/** -logout: end the stored session on the server, and forget it here. */
export async function logoutCommand(ctx: AuthContext): Promise<void> {
  const stored = await ctx.sessions.get(ctx.server);
  if (!stored) return ctx.out.result(`Not logged in to ${ctx.server}.`, { server: ctx.server, loggedOut: false });
  try {
    const client = await ctx.connect();
    try {
      await client.resumeSession(stored.token);
      await client.logout();
    } finally {
      client.close();
    }
  } catch (err) {
    if ((err as LpfError).code !== 'LPF_ERR_SESSION') throw err; // already over on the server
  } finally {
    await ctx.sessions.delete(ctx.server);
  }
  ctx.out.result(`Logged out of ${ctx.server}.`, { server: ctx.server, loggedOut: true });
}

/** -whoami: who the next command would run as. */
export async function whoamiCommand(ctx: AuthContext): Promise<void> {
  const fromEnv = credentialsFromEnv(process.env);
  if (fromEnv) {
    const { user, created } = await withEnvAccount(ctx, fromEnv);
    const how = created ? 'from LPF_USER; the account was created, as LPF_REGISTER=1 asks' : 'from LPF_USER';
    return ctx.out.result(`${user} on ${ctx.server} (${how})`, {
      server: ctx.server,
      user,
      via: 'environment',
      ...(created ? { created } : {}),
    });
  }
  const stored = await ctx.sessions.get(ctx.server);
  if (!stored) throw new LpfError('LPF_ERR_NOT_LOGGED_IN', `not logged in to ${ctx.server}`);
  try {
    const client = await withClient(ctx, (c) => c.resumeSession(stored.token));
    client.close();
  } catch (err) {
    if ((err as LpfError).code !== 'LPF_ERR_SESSION') throw err;
    await ctx.sessions.delete(ctx.server);
    throw sessionEnded(ctx.server);
  }
  const expires = new Date(stored.expires).toISOString();
  ctx.out.result(`${stored.user} on ${ctx.server} (session until ${formatTime(stored.expires)})`, {
    server: ctx.server,
    user: stored.user,
    via: 'session',
    expires,
  });
}

/**
 * For -whoami: logs in with the environment's credentials. With LPF_REGISTER=1 an account that does not
 * exist yet is created, as the next command would create it; one that exists is simply logged in to.
 */
async function withEnvAccount(ctx: AuthContext, creds: Credentials): Promise<{ user: string; created: boolean }> {
  const client = await ctx.connect();
  try {
    try {
      return { user: await client.login(creds.user, creds.password), created: false };
    } catch (err) {
      if (!creds.register || (err as LpfError).code !== 'LPF_ERR_AUTH') throw err;
      // The account exists, so the login was refused for its password: that is the answer.
      const user = await client.register(creds.user, creds.password).catch((refusal: unknown) => {
        throw (refusal as LpfError).code === 'LPF_ERR_USER_EXISTS' ? err : refusal;
      });
      process.stderr.write(`Account "${user}" created.\n`);
      return { user, created: true };
    }
  } finally {
    client.close();
  }
}

async function withClient(ctx: AuthContext, authenticate: (client: LpfClient) => Promise<unknown>): Promise<LpfClient> {
  const client = await ctx.connect();
  try {
    await authenticate(client);
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}

async function passwordLogin(client: LpfClient, creds: Credentials): Promise<void> {
  if (!creds.register) return void (await client.login(creds.user, creds.password));
  const user = await client.register(creds.user, creds.password);
  process.stderr.write(`Account "${user}" created.\n`);
}

async function startSession(client: LpfClient, creds: Credentials, ctx: AuthContext) {
  const session = await client.startSession(creds.user, creds.password, creds.register);
  if (creds.register) process.stderr.write(`Account "${session.user}" created.\n`);
  await ctx.sessions.set(ctx.server, session);
  return session;
}

async function envSession(ctx: AuthContext, creds: Credentials) {
  const client = await ctx.connect();
  try {
    return { client, session: await startSession(client, creds, ctx) };
  } catch (err) {
    client.close();
    throw err;
  }
}

/** Prompted logins in all, the first included: a typo gets two more tries, a guesser no more than the server's free ones. */
const PROMPTED_LOGIN_ATTEMPTS = 3;

/**
 * Asks on the terminal and starts a session. A refused password (not a
 * throttled one, nor a refused sign-up) asks again, user name first with the
 * last one as its default, up to PROMPTED_LOGIN_ATTEMPTS in all. Each attempt
 * has a connection of its own (a fresh one costs little beside a person typing).
 */
async function promptedSession(ctx: AuthContext) {
  let last: Credentials | undefined;
  for (let attempt = 1; ; attempt++) {
    const client = await ctx.connect();
    try {
      client.setIdleTimeout(0); // a person may take their time at the prompt
      const creds: Credentials = last ? await promptLoginAgain(last.user) : await promptCredentials();
      last = creds;
      client.setIdleTimeout(60_000);
      return { client, session: await startSession(client, creds, ctx) };
    } catch (err) {
      client.close();
      if (!mayRetry(err, last, attempt)) throw err;
      process.stderr.write(`Login refused: ${err.message}; please try again.\n`);
    }
  }
}

function mayRetry(err: unknown, creds: Credentials | undefined, attempt: number): err is LpfError {
  return err instanceof LpfError && err.code === 'LPF_ERR_AUTH' && creds?.register === false && attempt < PROMPTED_LOGIN_ATTEMPTS;
}

function sessionEnded(server: string): LpfError {
  return new LpfError('LPF_ERR_SESSION', `your session with ${server} has expired or was ended; log in again with: lpf ${server} -login`);
}
