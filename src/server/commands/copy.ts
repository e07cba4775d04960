/** copy: a file or folder copied on the server, no data crossing the network; its bytes are charged to the quota first. */
import assert from 'node:assert/strict';
import { normalizeRemotePath } from '../../protocol/index.js';
import { defineCommand } from './command.js';

export const copy = defineCommand({
  type: 'copy',
  access: 'user',
  ordered: true,
  async charges(ctx, message) {
    // What the source holds now (a missing source is refused here); Storage.copy refuses a source grown past it.
    const entries = await ctx.server.storage.list(ctx.user, normalizeRemotePath(message.from), { recursive: true });
    return { size: entries.reduce((sum, entry) => sum + (entry.dir ? 0 : entry.size), 0) };
  },
  async run(ctx, message, reservation) {
    assert.ok(reservation, 'copy is declared to charge the quota');
    const from = normalizeRemotePath(message.from);
    const to = normalizeRemotePath(message.to);
    const copied = await ctx.server.storage.copy(ctx.user, from, to, reservation.size);
    await reservation.stored({ replaced: 0 });
    // A source that shrank since it was measured gives back what it no longer holds.
    await ctx.server.quota.freed(ctx.user, reservation.size - copied);
    ctx.log.info({ user: ctx.user, command: 'copy', from, to, size: copied }, 'copied');
    ctx.conn.send({ type: 'ok' });
  },
});
