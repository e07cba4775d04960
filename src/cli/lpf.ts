/** The `lpf` command: a thin layer over the client library; each command is an entry of commands/registry.ts. */
import { readFile } from 'node:fs/promises';
import { parseAddress, formatAddress } from '../client/address.js';
import { LpfClient } from '../client/client.js';
import { KnownHosts, defaultKnownHostsPath } from '../client/known-hosts.js';
import type { TlsPolicy } from '../client/dial.js';
import { LpfError, toLpfError } from '../errors.js';
import { VERSION } from '../version.js';
import { SessionFile, defaultSessionsPath } from '../client/sessions.js';
import type { CommandContext, OptionValues } from './commands/command.js';
import { COMMANDS } from './commands/registry.js';
import { confirmNewHost } from './credentials.js';
import { parseInvocation, type Invocation } from './invocation.js';
import { createOutput, reportError, reportWarning } from './output.js';

async function tlsPolicy(options: OptionValues, interactive: boolean): Promise<TlsPolicy> {
  if (options.plain) {
    if (!options.quiet) reportWarning('--plain: TLS is off, the password and the files cross the network unencrypted');
    return { mode: 'plain' };
  }
  if (options.ca) {
    const ca = await readFile(options.ca, 'utf8').catch((err: Error) => {
      throw new LpfError('LPF_ERR_USAGE', `cannot read --ca ${options.ca}: ${err.message}`);
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

/** Runs the command: everything it needs is set up here, what it does is its registry entry's `run`. */
async function run(inv: Invocation): Promise<void> {
  const address = parseAddress(inv.address);
  const interactive = process.stdin.isTTY === true;
  const tls = await tlsPolicy(inv.options, interactive);
  const ctx: CommandContext = {
    connect: () => LpfClient.connect(address, { tls }),
    server: formatAddress(address),
    sessions: new SessionFile(defaultSessionsPath()),
    interactive,
    out: createOutput(inv.command, inv.options),
  };
  await COMMANDS[inv.command].run(ctx, inv);
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
