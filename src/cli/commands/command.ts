/**
 * What one command of `lpf` is: the operands and options it takes, its help,
 * and how it runs. registry.ts holds one such entry per command.
 */
import type { LpfClient } from '../../client/client.js';
import { logIn, type AuthContext } from '../authenticate.js';

/** A flag as util.parseArgs reads it, with its line in `lpf --help`. */
export interface FlagSpec {
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  /** What a string option's value is called in the help: `--to PATH`. */
  readonly value?: string;
  /** Its description in `lpf --help`, and in a command's help unless the command says better. */
  readonly text: string;
}

/** Every option a command may take. */
export const OPTIONS = {
  to: { type: 'string', value: 'PATH', text: 'with -upload and -download: where the files go' },
  recursive: { type: 'boolean', short: 'r', text: 'with -upload and -download: folders too; with -list: the whole tree' },
  force: { type: 'boolean', text: 'let -download replace existing local files' },
  long: { type: 'boolean', short: 'l', text: "with -list: exact sizes and each file's checksum" },
  checksum: { type: 'boolean', text: 'after each file, print its checksum: LPF-SHA256 (NAME) = HEX' },
  json: { type: 'boolean', text: 'one JSON object per result on stdout (a failure too: "ok": false)' },
  quiet: { type: 'boolean', short: 'q', text: 'only errors and what was asked for: no progress bar or summary' },
  ca: {
    type: 'string',
    value: 'FILE',
    text: "verify the server's certificate with these CA certificates (PEM)\ninstead of remembering its fingerprint on first use",
  },
  plain: { type: 'boolean', text: 'no TLS, for a server started with --plain: UNENCRYPTED' },
} as const satisfies Record<string, FlagSpec>;

/** The flags that are no command's options: they print something instead of running a command. */
export const GLOBAL_FLAGS = {
  help: { type: 'boolean', short: 'h', text: 'show this help, or with a command its own' },
  version: { type: 'boolean', text: 'show the version' },
} as const satisfies Record<string, FlagSpec>;

export type OptionName = keyof typeof OPTIONS;

/** The options every command takes (after its own, in its help). */
export const COMMON_OPTIONS: readonly OptionName[] = ['quiet', 'json', 'ca', 'plain'];

/** The value of each option: a string option's text when given, a boolean option's presence. */
export type OptionValues = { [K in OptionName]: (typeof OPTIONS)[K]['type'] extends 'string' ? string | undefined : boolean };

/** An option a command takes: its name, or its name with the command's own description (and value name). */
export type CommandOption = OptionName | { readonly name: OptionName; readonly text: string; readonly value?: string };

/** What a command runs with: how to reach the server, the sessions, the output. */
export type CommandContext = AuthContext;

/** What the command line gave a command. */
export interface CommandInput {
  operands: string[];
  options: OptionValues;
}

/** One command of `lpf`, named by its key in the registry. */
export interface CommandSpec {
  /** How many operands it takes, and what a wrong count is told: "-rename takes two names, OLD and NEW". */
  readonly operands: { readonly min: number; readonly max: number; readonly what: string };
  /** The options it takes besides COMMON_OPTIONS, in the order its help lists them. */
  readonly options: readonly CommandOption[];
  /** What follows `lpf ADDRESS -NAME` in its usage line. */
  readonly synopsis: string;
  /** One line for `lpf --help`. */
  readonly summary: string;
  /** Paragraphs for its own help. */
  readonly description: string;
  /** Whole command lines, made with `example`. */
  readonly examples: readonly string[];
  run(ctx: CommandContext, input: CommandInput): Promise<void>;
}

/** The example server address, the same in every example. */
export const EXAMPLE_HOST = 'files.example.org:20215';

/** An example command line against the example server. */
export const example = (args: string): string => `lpf ${EXAMPLE_HOST} ${args}`;

/** The name of an option a command takes. */
export const optionName = (option: CommandOption): OptionName => (typeof option === 'string' ? option : option.name);

/** Every option `spec` takes, its own and the common ones. */
export function acceptedOptions(spec: CommandSpec): OptionName[] {
  return [...spec.options.map(optionName), ...COMMON_OPTIONS];
}

/** Runs `act` on a connection logged in as the user (environment, session or prompts), closed afterwards. */
export async function loggedIn(ctx: CommandContext, act: (client: LpfClient) => Promise<void>): Promise<void> {
  return closing(await logIn(ctx), act);
}

/** Runs `act` on a connection that does not log in, closed afterwards. */
export async function anonymous(ctx: CommandContext, act: (client: LpfClient) => Promise<void>): Promise<void> {
  return closing(await ctx.connect(), act);
}

async function closing(client: LpfClient, act: (client: LpfClient) => Promise<void>): Promise<void> {
  try {
    await act(client);
  } finally {
    client.close();
  }
}
