/**
 * Where the client's credentials come from: the environment (for scripts) or
 * prompts on a terminal (for people). Never from a command-line argument,
 * which other users of the machine could read in the process list.
 */
import { LpfError } from '../errors.js';
import { normalizeUserName } from '../protocol/index.js';
import { reportWarning } from './output.js';

export interface Credentials {
  user: string;
  password: string;
  /** Create the account instead of logging in. */
  register: boolean;
}

/** Credentials from LPF_USER / LPF_PASSWORD / LPF_REGISTER, or undefined when neither is set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): Credentials | undefined {
  const user = env.LPF_USER;
  const password = env.LPF_PASSWORD;
  if (user === undefined && password === undefined) return undefined;
  if (!user || password === undefined) {
    throw new LpfError('LPF_ERR_NO_CREDENTIALS', 'set both LPF_USER and LPF_PASSWORD (or neither, to be asked on a terminal)');
  }
  return { user, password, register: env.LPF_REGISTER === '1' };
}

/** The error for a command that has no way to log in (no terminal, no environment, no session). */
export function noCredentials(): LpfError {
  return new LpfError(
    'LPF_ERR_NO_CREDENTIALS',
    'no terminal to ask for a user name and password: set LPF_USER and LPF_PASSWORD (and LPF_REGISTER=1 to create the account), or log in once with -login',
  );
}

type Prompts = typeof import('@inquirer/prompts');

/** Prompts write to stderr, so that stdout carries only the command's result. */
const PROMPT_CONTEXT = { output: process.stderr };

/** Asks on the terminal: has an account? then user name and hidden password (twice when registering). */
export async function promptCredentials(): Promise<Credentials> {
  const prompts = await import('@inquirer/prompts');
  const answer = await prompts.input(
    {
      message: 'Do you have an account? [y/n]',
      validate: (v) => /^(y|yes|n|no)$/i.test(v.trim()) || 'Please answer y or n',
    },
    PROMPT_CONTEXT,
  );
  const register = /^n/i.test(answer.trim());
  if (register) process.stderr.write('Then let us create one.\n');
  const user = await askUserName(prompts, register);
  const password = register ? await askNewPassword(prompts) : await askPassword(prompts);
  return { user, password, register };
}

/** After a refused login: user name again (Enter keeps the last one) and password. */
export async function promptLoginAgain(lastUser: string): Promise<Credentials> {
  const prompts = await import('@inquirer/prompts');
  const user = await askUserName(prompts, false, lastUser);
  return { user, password: await askPassword(prompts), register: false };
}

async function askUserName(prompts: Prompts, register: boolean, last?: string): Promise<string> {
  const user = await prompts.input(
    {
      message: 'User name:',
      ...(last === undefined ? {} : { default: last }),
      validate: (v) => {
        if (!register) return v.trim() !== '' || 'Please type your user name';
        try {
          normalizeUserName(v.trim());
          return true;
        } catch (err) {
          return (err as Error).message;
        }
      },
    },
    PROMPT_CONTEXT,
  );
  return user.trim();
}

function askPassword(prompts: Prompts, message = 'Password:'): Promise<string> {
  return prompts.password({ message, validate: (v) => v.length > 0 || 'The password may not be empty' }, PROMPT_CONTEXT);
}

/** A new password, typed twice; three mismatches in a row give up. */
async function askNewPassword(prompts: Prompts): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const first = await askPassword(prompts);
    const again = await prompts.password({ message: 'Password again:' }, PROMPT_CONTEXT);
    if (again === first) return first;
    if (attempt === 3) throw new LpfError('LPF_ERR_BAD_PASSWORD', 'the passwords did not match');
    process.stderr.write('The passwords did not match; please try again.\n');
  }
}

/**
 * Trust on first use. On a terminal, ask; without one, trust and say so
 * (as ssh's accept-new), unless LPF_STRICT_HOST_KEY=1 asks for refusal.
 */
export async function confirmNewHost(
  hostPort: string,
  fingerprint: string,
  knownHostsPath: string,
  interactive: boolean,
): Promise<boolean> {
  const intro = `The server ${hostPort} is new to lpf. Its certificate fingerprint is\n  ${fingerprint}\n`;
  if (process.env.LPF_STRICT_HOST_KEY === '1') {
    throw new LpfError(
      'LPF_ERR_HOST_KEY',
      `${hostPort} is not in ${knownHostsPath} and LPF_STRICT_HOST_KEY=1 forbids trusting a new server (fingerprint ${fingerprint})`,
    );
  }
  if (!interactive) {
    reportWarning(`trusting ${hostPort} on first use (${fingerprint}); remembered in ${knownHostsPath}`);
    return true;
  }
  process.stderr.write(`${intro}Compare it with the one the server's admin gave you.\n`);
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message: 'Trust this server and remember it?', default: false }, PROMPT_CONTEXT);
}
