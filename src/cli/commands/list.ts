/** -list: what is in the user's storage, or in one of its folders. */
import { listingJson, printListing } from '../listing.js';
import { example, loggedIn, type CommandSpec } from './command.js';

export const LIST: CommandSpec = {
  operands: { min: 0, max: 1, what: 'at most one folder' },
  options: [
    { name: 'long', text: "exact sizes in bytes, and each file's checksum (LPF-SHA256)" },
    { name: 'recursive', text: 'list the whole tree below, each entry with its path' },
  ],
  synopsis: '[DIR] [-l] [-r]',
  summary: "list your files and folders (or DIR's)",
  description: `Lists what is at the top of your storage, or in the remote folder DIR: size,
modification time and name of each entry. Folders are marked with a trailing "/".`,
  examples: [example('-list'), example('-list photos/2026'), example('-list -l -r')],
  run: (ctx, { operands, options }) =>
    loggedIn(ctx, async (client) => {
      const path = operands[0] ?? '';
      const entries = await client.list(path, { checksums: options.long, recursive: options.recursive });
      if (!ctx.out.json) return printListing(entries, options.long);
      ctx.out.result(undefined, { path, entries: entries.map(listingJson) });
    }),
};
