/**
 * Reads `lpf`'s command line (`lpf ADDRESS -COMMAND [OPERANDS] [options]`,
 * options anywhere) and checks it against the command registry: one command,
 * its number of operands, and only options that command takes.
 */
import { LpfError } from '../errors.js';
import { parseCommandLine } from './args.js';
import {
  GLOBAL_FLAGS,
  OPTIONS,
  acceptedOptions,
  type CommandInput,
  type FlagSpec,
  type OptionName,
  type OptionValues,
} from './commands/command.js';
import { COMMANDS, COMMAND_NAMES, type CommandName } from './commands/registry.js';
import { commandHelp, generalHelp } from './help.js';

/** A command to run. */
export interface Invocation extends CommandInput {
  command: CommandName;
  address: string;
}

export type Parsed = Invocation | { help: string } | 'version';

type Flag = { type: 'boolean' | 'string'; short?: string };

/** A flag as util.parseArgs takes it, without its help. */
const parseArgsFlag = ({ type, short }: FlagSpec): Flag => (short ? { type, short } : { type });

/** What util.parseArgs is told: each command is a boolean flag (-upload, --upload), then the options. */
const FLAGS: Record<string, Flag> = Object.fromEntries([
  ...COMMAND_NAMES.map((name): [string, Flag] => [name, { type: 'boolean' }]),
  ...Object.entries({ ...OPTIONS, ...GLOBAL_FLAGS }).map(([name, flag]): [string, Flag] => [name, parseArgsFlag(flag)]),
]);

const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

const usageError = (message: string) => new LpfError('LPF_ERR_USAGE', message);

/** Parses and checks `argv` (without the program): a command to run, a help page to print, or 'version'. */
export function parseInvocation(argv: string[]): Parsed {
  const { values, positionals } = parseCommandLine(argv, FLAGS);
  const chosen = COMMAND_NAMES.filter((name) => values[name] === true);
  if (values.help) return { help: (chosen.length === 1 && commandHelp(chosen[0] as CommandName)) || generalHelp() };
  if (values.version) return 'version';
  const command = onlyCommand(chosen);
  const [address, ...operands] = positionals;
  if (address === undefined) throw usageError('no server address given (see lpf --help)');
  checkOperands(command, operands);
  checkOptions(command, values);
  return { command, address, operands, options: optionValues(values) };
}

function onlyCommand(chosen: CommandName[]): CommandName {
  if (chosen.length === 0) throw usageError('no command given (see lpf --help)');
  if (chosen.length > 1) throw usageError(`give one command, not ${chosen.map((c) => `-${c}`).join(' and ')}`);
  return chosen[0] as CommandName;
}

function checkOperands(command: CommandName, operands: string[]): void {
  const { min, max, what } = COMMANDS[command].operands;
  if (operands.length < min || operands.length > max) throw usageError(`-${command} takes ${what} (see lpf -${command} --help)`);
}

/** Refuses an option the command does not take (rather than ignore it), and options that contradict each other. */
function checkOptions(command: CommandName, values: Record<string, unknown>): void {
  const accepted = acceptedOptions(COMMANDS[command]);
  const stray = OPTION_NAMES.find((name) => values[name] !== undefined && !accepted.includes(name));
  if (stray) throw usageError(`--${stray} goes with ${commandsTaking(stray)}, not with -${command} (see lpf -${command} --help)`);
  if (values.plain && values.ca) throw usageError('--plain and --ca exclude each other');
  if (values.to === '') throw usageError('--to needs a name');
}

/** "-upload and -download": the commands that take `option`. */
function commandsTaking(option: OptionName): string {
  const names = COMMAND_NAMES.filter((name) => acceptedOptions(COMMANDS[name]).includes(option)).map((name) => `-${name}`);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? 'no command');
}

/** Each option's value, typed: a string option's text when given, a boolean option's presence. */
function optionValues(values: Record<string, string | boolean | undefined>): OptionValues {
  const entries = OPTION_NAMES.map((name) => [name, OPTIONS[name].type === 'string' ? values[name] : values[name] === true]);
  return Object.fromEntries(entries) as OptionValues;
}
