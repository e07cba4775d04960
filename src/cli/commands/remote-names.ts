/** -mkdir, -rename, -copy and -delete: commands on remote names, with no data crossing the network. */
import type { LpfClient } from '../../client/client.js';
import { Failures } from '../failures.js';
import type { Output } from '../output.js';
import { example, loggedIn, type CommandSpec } from './command.js';

/** Runs a command on each name, going on past one that fails (see Failures). */
async function eachName(
  client: LpfClient,
  names: string[],
  out: Output,
  verb: string,
  act: (name: string) => Promise<void>,
): Promise<void> {
  if (names.length === 1) return act(names[0] as string);
  const failures = new Failures(out.json, () => !client.closed);
  for (const name of names) await failures.attempt(() => act(name));
  failures.throwIfAny(names.length, verb);
}

export const MKDIR: CommandSpec = {
  operands: { min: 1, max: Infinity, what: 'one or more folder names' },
  options: [],
  synopsis: 'DIR...',
  summary: 'create remote folders (and their missing parents)',
  description: 'Creates each remote folder DIR, and any of its parents that are missing.\nA folder that already exists is fine.',
  examples: [example('-mkdir photos/2026/summer'), example('-mkdir archive/2025 archive/2026')],
  run: (ctx, { operands }) =>
    loggedIn(ctx, (client) =>
      eachName(client, operands, ctx.out, 'created', async (path) => {
        await client.mkdir(path);
        ctx.out.result(`created folder ${path}`, { path });
      }),
    ),
};

export const RENAME: CommandSpec = {
  operands: { min: 2, max: 2, what: 'two names, OLD and NEW' },
  options: [],
  synopsis: 'OLD NEW',
  summary: 'rename a remote file or folder',
  description: 'Renames the remote file or folder OLD to NEW, both remote paths.\nNEW must not exist yet.',
  examples: [example('-rename notes.txt notes-2025.txt'), example('-rename photos/summer photos/2026-summer')],
  run: (ctx, { operands }) =>
    loggedIn(ctx, async (client) => {
      const [from, to] = operands as [string, string];
      await client.rename(from, to);
      ctx.out.result(`renamed ${from} to ${to}`, { from, to });
    }),
};

export const COPY: CommandSpec = {
  operands: { min: 2, max: 2, what: 'two names, SRC and DST' },
  options: [],
  synopsis: 'SRC DST',
  summary: 'copy a remote file or folder on the server',
  description: `Copies the remote file or folder SRC, with everything in it, to DST, both remote
paths. The copy is made on the server: no data crosses the network, and each
file keeps its checksum. DST must not exist yet; its folder must. The copy
counts towards your quota, and appears at DST only once it is complete.`,
  examples: [example('-copy reports/q1.pdf backup/q1.pdf'), example('-copy photos photos-2025')],
  run: (ctx, { operands }) =>
    loggedIn(ctx, async (client) => {
      const [from, to] = operands as [string, string];
      await client.copy(from, to);
      ctx.out.result(`copied ${from} to ${to}`, { from, to });
    }),
};

export const DELETE: CommandSpec = {
  operands: { min: 1, max: Infinity, what: 'one or more remote names' },
  options: [],
  synopsis: 'REMOTE...',
  summary: 'delete remote files, or empty folders',
  description:
    'Deletes one or more remote files, or empty remote folders. A folder that still\nholds something is refused: delete what is in it first.',
  examples: [example('-delete report.pdf'), example('-delete photos/2019'), example('-delete report.pdf notes.txt')],
  run: (ctx, { operands }) =>
    loggedIn(ctx, (client) =>
      eachName(client, operands, ctx.out, 'deleted', async (name) => {
        await client.delete(name);
        ctx.out.result(`deleted ${name}`, { name });
      }),
    ),
};
