/** The `lpf` command: a thin layer over the client library. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseAddress, formatAddress } from '../client/address.js';
import { LpfClient, type TransferResult } from '../client/client.js';
import { KnownHosts, defaultKnownHostsPath } from '../client/known-hosts.js';
import type { TlsPolicy } from '../client/transport.js';
import { LpfError, toLpfError } from '../errors.js';
import type { ListEntry } from '../protocol/index.js';
import { VERSION } from '../version.js';
import { parseCommandLine } from './args.js';
import { SessionFile, defaultSessionsPath } from '../client/sessions.js';
import { logIn, loginCommand, logoutCommand, whoamiCommand, type AuthContext } from './authenticate.js';
import { confirmNewHost } from './credentials.js';
import { formatBytes, formatDuration, formatRate, formatTime } from './format.js';
import { createOutput, reportError, type Output } from './output.js';
import { createProgress } from './progress.js';

const HELP = `lpf ${VERSION}: send and fetch files with an lpf server

Usage: lpf ADDRESS COMMAND [options]

ADDRESS is host:port, ip:port or [ipv6]:port (the port defaults to 20215).

Commands:
  -ping                     check the server; prints pong and the round-trip time
  -upload LOCAL [REMOTE]    send a file (stored as REMOTE, default: LOCAL's name)
  -download REMOTE [LOCAL]  fetch a file (saved as LOCAL, default: REMOTE in this folder)
  -list                     list your files
  -delete REMOTE            delete a file
  -login                    log in and keep a session, so the next commands do not ask
  -logout                   end the session (on the server too)
  -whoami                   show who the next command runs as
(--upload, --download, ... work as well.)

Options:
  --force                   let -download replace an existing local file
  --long, -l                with -list: exact sizes and each file's checksum
  --checksum                after a transfer, print the file's checksum (LPF-SHA256)
  --json                    print each result as one JSON object (errors too: "ok": false)
  --quiet, -q               no progress bar and no summary lines: only errors and
                            what the command exists to print (a listing, --checksum)
  --ca FILE                 verify the server's certificate with these CA certificates (PEM)
                            instead of remembering its fingerprint on first use
  --plain                   no TLS (only for a server started with --plain): UNENCRYPTED
  -h, --help                show this help
  --version                 show the version

Account: every command but -ping needs one. On a terminal lpf asks for it and keeps a
session (in $XDG_CONFIG_HOME/lpf/sessions.json) so that later commands do not ask again
until it expires or you -logout. Scripts set LPF_USER and LPF_PASSWORD (and LPF_REGISTER=1
to create the account), or run -login once with them and then use the session.

Server identity: the first time lpf meets a server it shows the certificate's fingerprint,
asks whether to trust it (without a terminal it trusts it and says so, unless
LPF_STRICT_HOST_KEY=1), and remembers it in $XDG_CONFIG_HOME/lpf/known_hosts
(~/.config/lpf/known_hosts). A changed certificate is refused.

Examples:
  lpf 127.13.37.1:20215 -upload report.pdf
  lpf 127.13.37.1:20215 -download report.pdf ~/Documents/report.pdf
  LPF_USER=alice LPF_PASSWORD=... lpf files.example.org:20215 -list
`;

const COMMANDS = ['ping', 'upload', 'download', 'list', 'delete', 'login', 'logout', 'whoami'] as const;
type Command = (typeof COMMANDS)[number];

/** How many operands each command takes: [min, max]. */
const OPERANDS: Record<Command, [number, number]> = {
  ping: [0, 0],
  upload: [1, 2],
  download: [1, 2],
  list: [0, 0],
  delete: [1, 1],
  login: [0, 0],
  logout: [0, 0],
  whoami: [0, 0],
};

interface Invocation {
  command: Command;
  address: string;
  operands: string[];
  force: boolean;
  long: boolean;
  checksum: boolean;
  json: boolean;
  quiet: boolean;
  ca: string | undefined;
  plain: boolean;
}

function parseInvocation(argv: string[]): Invocation | 'help' | 'version' {
  const { values, positionals } = parseCommandLine(argv, {
    ping: { type: 'boolean' },
    upload: { type: 'boolean' },
    download: { type: 'boolean' },
    list: { type: 'boolean' },
    delete: { type: 'boolean' },
    login: { type: 'boolean' },
    logout: { type: 'boolean' },
    whoami: { type: 'boolean' },
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
  if (values.help) return 'help';
  if (values.version) return 'version';
  const chosen = COMMANDS.filter((c) => values[c]);
  if (chosen.length !== 1) {
    throw new LpfError('LPF_ERR_USAGE', chosen.length === 0 ? 'no command given (see lpf --help)' : `give one command, not ${chosen.map((c) => `-${c}`).join(' and ')}`);
  }
  const command = chosen[0] as Command;
  const [address, ...operands] = positionals;
  if (address === undefined) throw new LpfError('LPF_ERR_USAGE', 'no server address given (see lpf --help)');
  const [min, max] = OPERANDS[command];
  if (operands.length < min || operands.length > max) {
    throw new LpfError('LPF_ERR_USAGE', `-${command} takes ${min === max ? min : `${min} or ${max}`} name${max === 1 ? '' : 's'} (see lpf --help)`);
  }
  if (values.plain && values.ca) throw new LpfError('LPF_ERR_USAGE', '--plain and --ca exclude each other');
  return {
    command,
    address,
    operands,
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
    if (!inv.quiet) process.stderr.write('lpf: warning: --plain: TLS is off, the password and the files cross the network unencrypted\n');
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
  switch (inv.command) {
    case 'ping': {
      const ms = await client.ping();
      const server = formatAddress(client.address);
      return out.result(`pong from ${server} in ${ms.toFixed(2)} ms`, { server, ms: Number(ms.toFixed(3)) });
    }
    case 'upload': {
      const [local, remote = basename(local as string)] = inv.operands as [string, string?];
      const progress = await createProgress(`↑ ${remote}`, showProgress);
      const result = await client.upload(local, remote, progress.listener).finally(() => progress.stop());
      out.result(`uploaded ${summary(result)}`, { ...transferData(result), local });
      return inv.checksum ? out.always(checksumLine(result)) : undefined;
    }
    case 'download': {
      const [remote, local = basename(remote as string)] = inv.operands as [string, string?];
      const progress = await createProgress(`↓ ${remote}`, showProgress);
      const result = await client
        .download(remote, local, { force: inv.force, onProgress: progress.listener })
        .finally(() => progress.stop());
      out.result(`downloaded ${summary(result)} to ${local}`, { ...transferData(result), local });
      return inv.checksum ? out.always(checksumLine(result)) : undefined;
    }
    case 'list': {
      const entries = await client.list({ checksums: inv.long });
      if (!out.json) return printList(entries, inv.long);
      const listed = entries.map((e) => ({ name: e.name, size: e.size, modified: new Date(e.mtime).toISOString(), ...(e.sha256 ? { sha256: e.sha256 } : {}) }));
      return out.result(undefined, { entries: listed });
    }
    case 'delete': {
      const name = inv.operands[0] as string;
      await client.delete(name);
      return out.result(`deleted ${name}`, { name });
    }
    default:
      throw new LpfError('LPF_ERR_INTERNAL', `-${inv.command} is not a transfer command`);
  }
}

function transferData(r: TransferResult): Record<string, unknown> {
  return { name: r.name, size: r.size, sha256: r.sha256, ms: Math.round(r.ms), resumedFrom: r.resumedFrom };
}

function summary(r: TransferResult): string {
  const resumed = r.resumedFrom > 0 ? `, resumed after ${formatBytes(r.resumedFrom)}` : '';
  const moved = r.size - r.resumedFrom;
  return `${r.name} (${formatBytes(r.size)}${resumed}) in ${formatDuration(r.ms)}, ${formatRate(moved, r.ms)}`;
}

/** BSD-style checksum line, as `shasum --tag` prints, naming lpf's block checksum. */
function checksumLine(r: TransferResult): string {
  return `LPF-SHA256 (${r.name}) = ${r.sha256}`;
}

function printList(entries: ListEntry[], long: boolean): void {
  if (entries.length === 0) {
    if (process.stdout.isTTY) process.stdout.write('no files\n');
    return;
  }
  const sizes = entries.map((e) => (long ? String(e.size) : formatBytes(e.size)));
  const width = Math.max(...sizes.map((s) => s.length));
  const checksum = (e: ListEntry) => (long ? `${e.sha256 ?? '?'.repeat(64)}  ` : '');
  const lines = entries.map((e, i) => `${(sizes[i] as string).padStart(width)}  ${formatTime(e.mtime)}  ${checksum(e)}${e.name}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(argv: string[]): Promise<void> {
  const inv = parseInvocation(argv);
  if (inv === 'help') return void process.stdout.write(HELP);
  if (inv === 'version') return void process.stdout.write(`lpf ${VERSION}\n`);
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
