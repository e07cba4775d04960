/** -upload and -download: the command lines; transfers.ts does the work. */
import { downloadCommand, uploadCommand, type TransferOptions } from '../transfers.js';
import type { Output } from '../output.js';
import { example, loggedIn, type CommandInput, type CommandSpec } from './command.js';

/** What transfers.ts is given: the options, and whether to draw progress bars (only for a person at a terminal). */
function transferOptions({ options }: CommandInput, out: Output): TransferOptions {
  const showProgress = !options.quiet && !out.json && process.stderr.isTTY === true;
  return { to: options.to, recursive: options.recursive, force: options.force, checksum: options.checksum, showProgress };
}

export const UPLOAD: CommandSpec = {
  operands: { min: 1, max: Infinity, what: 'one or more local files' },
  options: [
    { name: 'to', value: 'REMOTE', text: 'where to store them (see above)' },
    { name: 'recursive', text: 'upload folders too, with everything in them' },
    'checksum',
  ],
  synopsis: 'LOCAL... [--to REMOTE] [-r]',
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
  examples: [
    example('-upload report.pdf'),
    example('-upload report.pdf --to reports/2026-q1.pdf'),
    example('-upload a.jpg b.jpg --to photos/'),
    example('-upload -r holiday --to photos'),
  ],
  run: (ctx, input) => loggedIn(ctx, (client) => uploadCommand(client, input.operands, transferOptions(input, ctx.out), ctx.out)),
};

export const DOWNLOAD: CommandSpec = {
  operands: { min: 1, max: Infinity, what: 'one or more remote files' },
  options: [
    { name: 'to', value: 'LOCAL', text: 'where to save them (see above)' },
    { name: 'recursive', text: 'download folders too, with everything in them' },
    { name: 'force', text: 'replace existing local files' },
    'checksum',
  ],
  synopsis: 'REMOTE... [--to LOCAL] [-r]',
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
  examples: [
    example('-download report.pdf'),
    example('-download reports/2026-q1.pdf --to ~/Documents/report.pdf'),
    example('-download -r photos --to ~/Pictures'),
  ],
  run: (ctx, input) => loggedIn(ctx, (client) => downloadCommand(client, input.operands, transferOptions(input, ctx.out), ctx.out)),
};
