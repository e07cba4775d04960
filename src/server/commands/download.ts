/** download: the file's header, its DATA, and an 'end' with the checksum recorded when it was stored. */
import { LpfError } from '../../errors.js';
import { ContentHasher, normalizeRemotePath, type MessageOf } from '../../protocol/index.js';
import { sendRange } from '../../transport/send-file.js';
import type { ResumeFrom } from '../storage/storage.js';
import { defineCommand } from './command.js';

export const download = defineCommand({
  type: 'download',
  access: 'user',
  ordered: true,
  async run(ctx, message) {
    const { conn, log } = ctx;
    const name = normalizeRemotePath(message.name);
    const file = await ctx.server.storage.read(ctx.user, name, resumeOf(message));
    const hasher = new ContentHasher({ previous: file.prefixDigests });
    const started = Date.now();
    conn.send({ type: 'file', name, size: file.size, mtime: file.mtime, offset: file.offset });
    let sent: number;
    try {
      sent = await sendRange(conn, file.reader, file.offset, file.size, {
        onChunk: (chunk) => {
          hasher.update(chunk);
          return true;
        },
      });
    } finally {
      await file.reader.close();
    }
    if (conn.closed) throw new LpfError('LPF_ERR_CONNECTION_LOST', 'client went away');
    if (sent !== file.size) throw new LpfError('LPF_ERR_SERVER', `${JSON.stringify(name)} shrank while being sent`);
    const read = hasher.digest();
    // The checksum recorded at upload is what the client must end up with: a mismatch means the disk changed it.
    if (file.sha256 !== undefined && file.sha256 !== read) {
      log.error(
        { user: ctx.user, command: 'download', name, recorded: file.sha256, read },
        'stored file does not match its recorded checksum',
      );
    }
    conn.send({ type: 'end', sha256: file.sha256 ?? read });
    log.info(
      { user: ctx.user, command: 'download', name, size: file.size, offset: file.offset, ms: Date.now() - started },
      'download sent',
    );
  },
});

/** A resume asks for all three of offset, size and mtime; anything less is a download from the start. */
function resumeOf({ offset, size, mtime }: MessageOf<'download'>): ResumeFrom | undefined {
  return offset !== undefined && size !== undefined && mtime !== undefined ? { offset, size, mtime } : undefined;
}
