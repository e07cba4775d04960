/**
 * What `lpf --help` and `lpf -COMMAND --help` print: an overview, and for each
 * command its usage, what it does, the options that apply and examples, all
 * written from the command registry.
 */
import { VERSION } from '../version.js';
import { COMMON_OPTIONS, EXAMPLE_HOST, GLOBAL_FLAGS, OPTIONS, example, type CommandOption, type CommandSpec } from './commands/command.js';
import { COMMANDS, COMMAND_NAMES, findCommand } from './commands/registry.js';

/** One option line: flags, then what it does (may run on to more lines). */
type OptionLine = readonly [flags: string, text: string];

/** Every command with help, as typed without its dash. */
export const HELP_COMMANDS: readonly string[] = COMMAND_NAMES;

/** The overview `lpf --help` prints. */
export function generalHelp(): string {
  const usages = COMMAND_NAMES.map((name) => [usage(name, COMMANDS[name]), COMMANDS[name].summary] as const);
  const width = Math.max(...usages.map(([u]) => u.length)) + 2;
  const commands = usages.map(([u, summary]) => `  ${u.padEnd(width)}${summary}`);
  const flags = { ...OPTIONS, ...GLOBAL_FLAGS };
  const options = Object.entries(flags).map(([name, flag]) => optionLine(name, flag));
  return `lpf ${VERSION}: send and fetch files with an lpf server

Usage: lpf ADDRESS COMMAND [options]
       lpf -COMMAND --help       (the command's own help, with examples)

ADDRESS is host:port, ip:port or [ipv6]:port (the port defaults to 20215).
Remote paths use "/" between folders: photos/2026/beach.jpg.

Commands:
${commands.join('\n')}
(--upload, --download, ... work as well.)

Options:
${formatOptions(options)}

Account: every command but -ping needs one. On a terminal lpf asks for it and keeps a
session (in $XDG_CONFIG_HOME/lpf/sessions.json) so that later commands do not ask again
until it expires or you -logout. Scripts set LPF_USER and LPF_PASSWORD (and LPF_REGISTER=1
to create the account), or run -login once with them and then use the session.

Server identity: the first time lpf meets a server it shows the certificate's fingerprint,
asks whether to trust it (without a terminal it trusts it and says so, unless
LPF_STRICT_HOST_KEY=1), and remembers it in $XDG_CONFIG_HOME/lpf/known_hosts
(~/.config/lpf/known_hosts). A changed certificate is refused.

Colours: only on a terminal; NO_COLOR=1 turns them off, FORCE_COLOR=1 on even in a pipe.

Examples:
${formatExamples([example('-upload report.pdf'), example('-download report.pdf --to ~/Documents/'), example('-upload -r holiday --to photos'), `LPF_USER=alice LPF_PASSWORD=... lpf ${EXAMPLE_HOST} -list`])}
`;
}

/**
 * The help of one command ("upload", "-upload" or "--upload"), or undefined
 * when there is no such command.
 */
export function commandHelp(command: string): string | undefined {
  const name = command.replace(/^--?/, '');
  const spec = findCommand(name);
  if (!spec) return undefined;
  const options = [...spec.options, ...COMMON_OPTIONS].map(commandOptionLine);
  return `Usage: lpf ADDRESS ${usage(name, spec)} [options]

${spec.description}

Options:
${formatOptions(options)}

${spec.examples.length === 1 ? 'Example' : 'Examples'}:
${formatExamples(spec.examples)}

See lpf --help for the address, accounts and server identity.
`;
}

/** What follows `lpf ADDRESS` for a command: `-upload LOCAL... [--to REMOTE] [-r]`. */
function usage(name: string, spec: CommandSpec): string {
  return spec.synopsis ? `-${name} ${spec.synopsis}` : `-${name}`;
}

/** An option's line in a command's help: the command's own words if it has them, else those of `lpf --help`. */
function commandOptionLine(option: CommandOption): OptionLine {
  if (typeof option === 'string') return optionLine(option, OPTIONS[option]);
  return optionLine(option.name, { ...OPTIONS[option.name], ...option });
}

/** `-r, --recursive` or `--to PATH`, and the text. */
function optionLine(name: string, flag: { short?: string; value?: string; text: string }): OptionLine {
  const short = flag.short ? `-${flag.short}, ` : '';
  const value = flag.value ? ` ${flag.value}` : '';
  return [`${short}--${name}${value}`, flag.text];
}

/** Options as a two-column list; a description's later lines are indented under its first. */
function formatOptions(options: readonly OptionLine[]): string {
  const width = Math.max(...options.map(([flags]) => flags.length)) + 2;
  return options.map(([flags, text]) => `  ${flags.padEnd(width)}${text.split('\n').join(`\n  ${' '.repeat(width)}`)}`).join('\n');
}

function formatExamples(examples: readonly string[]): string {
  return examples.map((e) => `  ${e}`).join('\n');
}
