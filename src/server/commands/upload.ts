/** upload: the request; its DATA and 'end' go to the ReceivingUpload it starts (receiving-upload.ts). */
import assert from 'node:assert/strict';
import { LpfError } from '../../errors.js';
import { normalizeRemotePath } from '../../protocol/index.js';
import type { UploadSink } from '../storage/storage.js';
import { defineCommand } from './command.js';
import { ReceivingUpload } from './receiving-upload.js';

export const upload = defineCommand({
  type: 'upload',
  access: 'user',
  // Not in order: an upload overlaps the stores before it. Only one of the same name waits (below).
  ordered: false,
  sendsData: true,
  async charges(ctx, message) {
    const name = normalizeRemotePath(message.name);
    // The same name committing in the background: this upload must replace it, not race it.
    if (ctx.answers.isStoring(name)) await ctx.answers.answered();
    const { maxFileSize } = ctx.server.limits;
    if (message.size > maxFileSize) {
      throw new LpfError('LPF_ERR_TOO_LARGE', `the file is ${message.size} bytes; this server takes files up to ${maxFileSize} bytes`);
    }
    return { size: message.size, upload: { path: name, request: { size: message.size, key: message.key } } };
  },
  async run(ctx, message, reservation) {
    const name = normalizeRemotePath(message.name);
    const sink: UploadSink = await ctx.server.storage.createUpload(ctx.user, name, { size: message.size, key: message.key });
    assert.ok(reservation, 'upload is declared to charge the quota');
    if (ctx.ended()) {
      // The client went away while the files were made: nothing of this upload is wanted.
      await sink.abort();
      return reservation.release();
    }
    ctx.receive(new ReceivingUpload(ctx, name, message.size, sink, reservation));
    const resumed = sink.offset > 0;
    ctx.log.info(
      { user: ctx.user, command: 'upload', name, size: message.size, offset: sink.offset },
      resumed ? 'upload resumed' : 'upload started',
    );
    ctx.answers.answer({ type: 'ready', offset: sink.offset });
  },
});
