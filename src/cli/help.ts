/**
 * What `lpf --help` and `lpf -COMMAND --help` print: an overview, and for each
 * command its usage, what it does, the options that apply and examples.
 * Kept apart from lpf.ts so the texts can be read (and tested) as a whole.
 */
import { VERSION } from '../version.js';

/** An example server address, the same in every example. */
const HOST = 'files.example.org:20215';

/** An example command line against the example server. */
const lpf = (args: string) => `lpf ${HOST} ${args}`;

/** One option line: flags, then what it does (may run on to more lines). */
type Option = readonly [flags: string, text: string];

const JSON_OPTION: Option = ['--json', 'one JSON object per result on stdout (a failure too: "ok": false)'];
const QUIET_OPTION: Option = ['-q, --quiet', 'only errors and what was asked for: no progress bar or summary'];
const CA_OPTION: Option = ['--ca FILE', "verify the server's certificate with these CA certificates (PEM)\ninstead of remembering its fingerprint on first use"];
const PLAIN_OPTION: Option = ['--plain', 'no TLS, for a server started with --plain: UNENCRYPTED'];
const CHECKSUM_OPTION: Option = ['--checksum', 'after each file, print its checksum: LPF-SHA256 (NAME) = HEX'];

/** The options every command takes. */
const COMMON: readonly Option[] = [JSON_OPTION, CA_OPTION, PLAIN_OPTION];

interface CommandDoc {
  /** What follows `lpf ADDRESS`. */
  usage: string;
  /** One line for the overview. */
  summary: string;
  /** Paragraphs for the command's own help. */
  description: string;
  options: readonly Option[];
  /** Whole command lines. */
  examples: readonly string[];
}

const COMMANDS: Readonly<Record<string, CommandDoc>> = {
  ping: {
    usage: '-ping',
    summary: 'check the server: pong and the round-trip time',
    description: 'Checks that the server answers, and prints "pong" with the round-trip time.\nNeeds no account.',
    options: COMMON,
    examples: [lpf('-ping')],
  },
  upload: {
    usage: '-upload LOCAL... [--to REMOTE] [-r]',
    summary: 'send files (with -r, folders too)',
    description: `Uploads one or more local files to your storage; with -r, folders too,
with everything in them, keeping their structure.

Where they go:
  - without --to, to the top of your storage, each under its own name;
  - with one file, --to NAME stores it as NAME (missing folders on the way are
    made), unless NAME ends with "/" or is an existing remote folder: then the
    file goes into that folder;
  - with -r and one folder, as cp -r does: into --to if it is an existing
    folder, else the folder is stored as --to;
  - with several sources, --to names a remote folder (created if missing) that
    they go into.
Remote paths use "/" between folders. An upload that was cut off continues
where it stopped when you run the same command again.`,
    options: [
      ['--to REMOTE', 'where to store them (see above)'],
      ['-r, --recursive', 'upload folders too, with everything in them'],
      CHECKSUM_OPTION,
      QUIET_OPTION,
      ...COMMON,
    ],
    examples: [lpf('-upload report.pdf'), lpf('-upload report.pdf --to reports/2026-q1.pdf'), lpf('-upload a.jpg b.jpg --to photos/'), lpf('-upload -r holiday --to photos')],
  },
  download: {
    usage: '-download REMOTE... [--to LOCAL] [-r]',
    summary: 'fetch files (with -r, folders too)',
    description: `Downloads one or more of your remote files; with -r, remote folders too,
with everything in them, keeping their structure.

Where they go:
  - without --to, into the current folder, each under its own name;
  - with one file, --to NAME saves it as NAME, unless NAME ends with "/" or is
    an existing local folder: then the file goes into that folder;
  - with -r and one folder, as cp -r does: into --to if it is an existing
    folder, else the folder is saved as --to;
  - with several sources, --to names a local folder (created if missing) that
    they go into.
An existing local file is not replaced unless you add --force. A download that
was cut off continues where it stopped when you run the same command again
(meanwhile the data waits in .NAME.lpf-part beside the target).`,
    options: [
      ['--to LOCAL', 'where to save them (see above)'],
      ['-r, --recursive', 'download folders too, with everything in them'],
      ['--force', 'replace existing local files'],
      CHECKSUM_OPTION,
      QUIET_OPTION,
      ...COMMON,
    ],
    examples: [lpf('-download report.pdf'), lpf('-download reports/2026-q1.pdf --to ~/Documents/report.pdf'), lpf('-download -r photos --to ~/Pictures')],
  },
  list: {
    usage: '-list [DIR] [-l] [-r]',
    summary: "list your files and folders (or DIR's)",
    description: `Lists what is at the top of your storage, or in the remote folder DIR: size,
modification time and name of each entry. Folders are marked with a trailing "/".`,
    options: [
      ['-l, --long', "exact sizes in bytes, and each file's checksum (LPF-SHA256)"],
      ['-r, --recursive', 'list the whole tree below, each entry with its path'],
      ...COMMON,
    ],
    examples: [lpf('-list'), lpf('-list photos/2026'), lpf('-list -l -r')],
  },
  mkdir: {
    usage: '-mkdir DIR',
    summary: 'create a remote folder (and its missing parents)',
    description: 'Creates the remote folder DIR, and any of its parents that are missing.\nA folder that already exists is fine.',
    options: [QUIET_OPTION, ...COMMON],
    examples: [lpf('-mkdir photos/2026/summer')],
  },
  rename: {
    usage: '-rename OLD NEW',
    summary: 'rename a remote file or folder',
    description: 'Renames the remote file or folder OLD to NEW, both remote paths.\nNEW must not exist yet.',
    options: [QUIET_OPTION, ...COMMON],
    examples: [lpf('-rename notes.txt notes-2025.txt'), lpf('-rename photos/summer photos/2026-summer')],
  },
  delete: {
    usage: '-delete REMOTE...',
    summary: 'delete remote files, or empty folders',
    description: 'Deletes one or more remote files, or empty remote folders. A folder that still\nholds something is refused: delete what is in it first.',
    options: [QUIET_OPTION, ...COMMON],
    examples: [lpf('-delete report.pdf'), lpf('-delete photos/2019'), lpf('-delete report.pdf notes.txt')],
  },
  login: {
    usage: '-login',
    summary: 'log in and keep a session for later commands',
    description: `Logs in and keeps a session for this server (in $XDG_CONFIG_HOME/lpf/sessions.json),
so that later commands do not ask again until it expires or you -logout.
On a terminal it asks for the user name and password (a wrong password may be
typed again, three tries in all); a script sets LPF_USER and LPF_PASSWORD.`,
    options: COMMON,
    examples: [lpf('-login'), `LPF_USER=alice LPF_PASSWORD=... lpf ${HOST} -login`],
  },
  logout: {
    usage: '-logout',
    summary: 'end the session (on the server too)',
    description: 'Ends the session kept for this server, on the server too, and forgets it here.',
    options: COMMON,
    examples: [lpf('-logout')],
  },
  whoami: {
    usage: '-whoami',
    summary: 'show who the next command runs as',
    description:
      'Shows the account the next command to this server runs as: LPF_USER when set (with\nLPF_REGISTER=1, the account is created if it does not exist yet), else the stored\nsession, with its expiry.',
    options: COMMON,
    examples: [lpf('-whoami')],
  },
};

/** Every command with help, as typed without its dash. */
export const HELP_COMMANDS: readonly string[] = Object.keys(COMMANDS);

/** The overview `lpf --help` prints. */
export function generalHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length)) + 2;
  const commands = Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}${c.summary}`);
  return `lpf ${VERSION}: send and fetch files with an lpf server

Usage: lpf ADDRESS COMMAND [options]
       lpf -COMMAND --help       (the command's own help, with examples)

ADDRESS is host:port, ip:port or [ipv6]:port (the port defaults to 20215).
Remote paths use "/" between folders: photos/2026/beach.jpg.

Commands:
${commands.join('\n')}
(--upload, --download, ... work as well.)

Options:
${formatOptions([
  ['--to PATH', 'with -upload and -download: where the files go'],
  ['-r, --recursive', 'with -upload and -download: folders too; with -list: the whole tree'],
  ['--force', 'let -download replace existing local files'],
  ['-l, --long', "with -list: exact sizes and each file's checksum"],
  CHECKSUM_OPTION,
  JSON_OPTION,
  QUIET_OPTION,
  CA_OPTION,
  PLAIN_OPTION,
  ['-h, --help', 'show this help, or with a command its own'],
  ['--version', 'show the version'],
])}

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
${formatExamples([lpf('-upload report.pdf'), lpf('-download report.pdf --to ~/Documents/'), lpf('-upload -r holiday --to photos'), `LPF_USER=alice LPF_PASSWORD=... lpf ${HOST} -list`])}
`;
}

/**
 * The help of one command ("upload", "-upload" or "--upload"), or undefined
 * when there is no such command.
 */
export function commandHelp(command: string): string | undefined {
  const name = command.replace(/^--?/, '');
  const doc = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!doc) return undefined;
  return `Usage: lpf ADDRESS ${doc.usage} [options]

${doc.description}

Options:
${formatOptions(doc.options)}

${doc.examples.length === 1 ? 'Example' : 'Examples'}:
${formatExamples(doc.examples)}

See lpf --help for the address, accounts and server identity.
`;
}

/** Options as a two-column list; a description's later lines are indented under its first. */
function formatOptions(options: readonly Option[]): string {
  const width = Math.max(...options.map(([flags]) => flags.length)) + 2;
  return options
    .map(([flags, text]) => `  ${flags.padEnd(width)}${text.split('\n').join(`\n  ${' '.repeat(width)}`)}`)
    .join('\n');
}

function formatExamples(examples: readonly string[]): string {
  return examples.map((e) => `  ${e}`).join('\n');
}
