/** The `lpf` command: a thin layer over the client library. */
import { readFile } from 'node:fs/promises';
import { parseAddress, formatAddress } from '../client/address.js';
import { LpfClient } from '../client/client.js';
import { KnownHosts, defaultKnownHostsPath } from '../client/known-hosts.js';
import type { TlsPolicy } from '../client/transport.js';
import { LpfError, toLpfError } from '../errors.js';
import { Failures } from './failures.js';
import { VERSION } from '../version.js';
import { parseCommandLine } from './args.js';
import { SessionFile, defaultSessionsPath } from '../client/sessions.js';
import { logIn, loginCommand, logoutCommand, whoamiCommand, type AuthContext } from './authenticate.js';
import { confirmNewHost } from './credentials.js';
import { commandHelp, generalHelp } from './help.js';
import { listingJson, printListing } from './listing.js';
import { createOutput, reportError, reportWarning, type Output } from './output.js';
import { downloadCommand, uploadCommand } from './transfers.js';

const COMMANDS = ['ping', 'upload', 'download', 'list', 'delete', 'mkdir', 'rename', 'login', 'logout', 'whoami'] as const;
type Command = (typeof COMMANDS)[number];

/** How many operands each command takes: [min, max]. */
const OPERANDS: Record<Command, [number, number]> = {
  ping: [0, 0],
  upload: [1, Infinity],
  download: [1, Infinity],
  list: [0, 1],
  delete: [1, Infinity],
  mkdir: [1, Infinity],
  rename: [2, 2],
  login: [0, 0],
  logout: [0, 0],
  whoami: [0, 0],
};

/** What a wrong operand count is told, per command. */
const OPERAND_NAMES: Record<Command, string> = {
  ping: 'no names',
  upload: 'one or more local files',
  download: 'one or more remote files',
  list: 'at most one folder',
  delete: 'one or more remote names',
  mkdir: 'one or more folder names',
  rename: 'two names, OLD and NEW',
  login: 'no names',
  logout: 'no names',
  whoami: 'no names',
};

interface Invocation {
  command: Command;
  address: string;
  operands: string[];
  to: string | undefined;
  recursive: boolean;
  force: boolean;
  long: boolean;
  checksum: boolean;
  json: boolean;
  quiet: boolean;
  ca: string | undefined;
  plain: boolean;
}

type Parsed = Invocation | { help: string } | 'version';

function parseInvocation(argv: string[]): Parsed {
  const { values, positionals } = parseCommandLine(argv, {
    ping: { type: 'boolean' },
    upload: { type: 'boolean' },
    download: { type: 'boolean' },
    list: { type: 'boolean' },
    delete: { type: 'boolean' },
    mkdir: { type: 'boolean' },
    rename: { type: 'boolean' },
    login: { type: 'boolean' },
    logout: { type: 'boolean' },
    whoami: { type: 'boolean' },
    to: { type: 'string' },
    recursive: { type: 'boolean', short: 'r' },
    force: { type: 'boolean' },
    long: { type: 'boolean', short: 'l' },
    checksum: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    ca: { type: 'string' },
    plain: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  });
  const chosen = COMMANDS.filter((c) => values[c]);
  if (values.help) return { help: (chosen.length === 1 && commandHelp(chosen[0] as Command)) || generalHelp() };
  if (values.version) return 'version';
  if (chosen.length !== 1) {
    throw new LpfError('LPF_ERR_USAGE', chosen.length === 0 ? 'no command given (see lpf --help)' : `give one command, not ${chosen.map((c) => `-${c}`).join(' and ')}`);
  }
  const command = chosen[0] as Command;
  const [address, ...operands] = positionals;
  if (address === undefined) throw new LpfError('LPF_ERR_USAGE', 'no server address given (see lpf --help)');
  const [min, max] = OPERANDS[command];
  if (operands.length < min || operands.length > max) {
    throw new LpfError('LPF_ERR_USAGE', `-${command} takes ${OPERAND_NAMES[command]} (see lpf -${command} --help)`);
  }
  if (values.plain && values.ca) throw new LpfError('LPF_ERR_USAGE', '--plain and --ca exclude each other');
  if (values.to !== undefined && command !== 'upload' && command !== 'download') {
    throw new LpfError('LPF_ERR_USAGE', '--to goes with -upload and -download');
  }
  if (values.to === '') throw new LpfError('LPF_ERR_USAGE', '--to needs a name');
  return {
    command,
    address,
    operands,
    to: values.to,
    recursive: values.recursive === true,
    force: values.force === true,
    long: values.long === true,
    checksum: values.checksum === true,
    json: values.json === true,
    quiet: values.quiet === true,
    ca: values.ca,
    plain: values.plain === true,
  };
}

async function tlsPolicy(inv: Invocation, interactive: boolean): Promise<TlsPolicy> {
  if (inv.plain) {
    if (!inv.quiet) reportWarning('--plain: TLS is off, the password and the files cross the network unencrypted');
    return { mode: 'plain' };
  }
  if (inv.ca) {
    const ca = await readFile(inv.ca, 'utf8').catch((err: Error) => {
      throw new LpfError('LPF_ERR_USAGE', `cannot read --ca ${inv.ca}: ${err.message}`);
    });
    return { mode: 'ca', ca };
  }
  const knownHosts = new KnownHosts(defaultKnownHostsPath());
  return {
    mode: 'pin',
    knownHosts,
    trustNewHost: (hostPort, fingerprint) => confirmNewHost(hostPort, fingerprint, knownHosts.path, interactive),
  };
}

async function run(inv: Invocation): Promise<void> {
  const address = parseAddress(inv.address);
  const interactive = process.stdin.isTTY === true;
  const tls = await tlsPolicy(inv, interactive);
  const ctx: AuthContext = {
    connect: () => LpfClient.connect(address, { tls }),
    server: formatAddress(address),
    sessions: new SessionFile(defaultSessionsPath()),
    interactive,
    out: createOutput(inv.command, inv),
  };
  if (inv.command === 'login') return loginCommand(ctx);
  if (inv.command === 'logout') return logoutCommand(ctx);
  if (inv.command === 'whoami') return whoamiCommand(ctx);
  const client = inv.command === 'ping' ? await ctx.connect() : await logIn(ctx);
  try {
    await execute(client, inv, ctx.out);
  } finally {
    client.close();
  }
}

async function execute(client: LpfClient, inv: Invocation, out: Output): Promise<void> {
  const showProgress = !inv.quiet && !out.json && process.stderr.isTTY === true;
  const transfer = { to: inv.to, recursive: inv.recursive, force: inv.force, checksum: inv.checksum, showProgress };
  switch (inv.command) {
    case 'ping': {
      const ms = await client.ping();
      const server = formatAddress(client.address);
      return out.result(`pong from ${server} in ${ms.toFixed(2)} ms`, { server, ms: Number(ms.toFixed(3)) });
    }
    case 'upload':
      return uploadCommand(client, inv.operands, transfer, out);
    case 'download':
      return downloadCommand(client, inv.operands, transfer, out);
    case 'list': {
      const path = inv.operands[0] ?? '';
      const entries = await client.list(path, { checksums: inv.long, recursive: inv.recursive });
      if (!out.json) return printListing(entries, inv.long);
      return out.result(undefined, { path, entries: entries.map(listingJson) });
    }
    case 'delete':
      return eachName(client, inv.operands, out, 'deleted', async (name) => {
        await client.delete(name);
        out.result(`deleted ${name}`, { name });
      });
    case 'mkdir':
      return eachName(client, inv.operands, out, 'created', async (path) => {
        await client.mkdir(path);
        out.result(`created folder ${path}`, { path });
      });
    case 'rename': {
      const [from, to] = inv.operands as [string, string];
      await client.rename(from, to);
      return out.result(`renamed ${from} to ${to}`, { from, to });
    }
    default:
      throw new LpfError('LPF_ERR_INTERNAL', `-${inv.command} is not a transfer command`);
  }
}

/** Runs a command on each name, going on past one that fails (see Failures). */
async function eachName(client: LpfClient, names: string[], out: Output, verb: string, act: (name: string) => Promise<void>): Promise<void> {
  if (names.length === 1) return act(names[0] as string);
  const failures = new Failures(out.json, () => !client.closed);
  for (const name of names) await failures.attempt(() => act(name));
  failures.throwIfAny(names.length, verb);
}

async function main(argv: string[]): Promise<void> {
  const inv = parseInvocation(argv);
  if (inv === 'version') return void process.stdout.write(`lpf ${VERSION}\n`);
  if ('help' in inv) return void process.stdout.write(inv.help);
  await run(inv);
}

// Known before parsing, so that even a usage error is reported as JSON when --json was asked for.
const jsonRequested = process.argv.slice(2).some((a) => a === '--json' || a === '-json');

// A promise that nothing can settle any more lets Node exit with status 0: never report that as success.
let finished = false;
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stderr.write('lpf: error: internal error: the command stopped before it finished [LPF_ERR_INTERNAL]\n');
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  () => {
    finished = true;
    process.exit(0);
  },
  (err: unknown) => {
    finished = true;
    if ((err as Error)?.name === 'ExitPromptError') {
      process.stderr.write('lpf: cancelled\n');
      process.exit(130);
    }
    const error = toLpfError(err);
    reportError(error, jsonRequested);
    process.exit(error.exitCode);
  },
);
