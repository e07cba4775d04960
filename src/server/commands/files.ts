/** The commands on stored files and folders that carry no file data: list, stat, mkdir, rename, delete; and ping. */
import { LIST_PAGE_BYTES, LIST_PAGE_SIZE, normalizeRemotePath, paginateEntries } from '../../protocol/index.js';
import { defineCommand } from './command.js';

export const ping = defineCommand({
  type: 'ping',
  access: 'any',
  // The pong is queued behind the answers owed like any answer; the ping itself touches nothing.
  ordered: false,
  run(ctx, message) {
    ctx.answers.answer({ type: 'pong', nonce: message.nonce });
  },
});

export const list = defineCommand({
  type: 'list',
  access: 'user',
  ordered: true,
  async run(ctx, message) {
    const path = normalizeRemotePath(message.path ?? '', { allowTop: true });
    const options = { checksums: message.long === true, recursive: message.recursive === true };
    const { storage } = ctx.server;
    const entries = message.partial === true ? await storage.partials(ctx.user, path) : await storage.list(ctx.user, path, options);
    const partial = message.partial === true;
    ctx.log.info({ user: ctx.user, command: 'list', path, recursive: options.recursive, partial, count: entries.length }, 'list');
    const pages = paginateEntries(entries, LIST_PAGE_SIZE, LIST_PAGE_BYTES);
    for (const [i, page] of pages.entries()) {
      ctx.conn.send({ type: 'list_page', entries: page, done: i === pages.length - 1 });
      await ctx.conn.drained();
    }
  },
});

export const stat = defineCommand({
  type: 'stat',
  access: 'user',
  ordered: true,
  async run(ctx, message) {
    const path = normalizeRemotePath(message.path);
    const entry = await ctx.server.storage.stat(ctx.user, path);
    ctx.log.debug({ user: ctx.user, command: 'stat', path }, 'stat');
    ctx.conn.send({ type: 'entry', entry });
  },
});

export const mkdir = defineCommand({
  type: 'mkdir',
  access: 'user',
  ordered: true,
  async run(ctx, message) {
    const path = normalizeRemotePath(message.path);
    await ctx.server.storage.makeFolder(ctx.user, path);
    ctx.log.info({ user: ctx.user, command: 'mkdir', path }, 'folder made');
    ctx.conn.send({ type: 'ok' });
  },
});

export const rename = defineCommand({
  type: 'rename',
  access: 'user',
  ordered: true,
  async run(ctx, message) {
    const from = normalizeRemotePath(message.from);
    const to = normalizeRemotePath(message.to);
    await ctx.server.storage.rename(ctx.user, from, to);
    ctx.log.info({ user: ctx.user, command: 'rename', from, to }, 'renamed');
    ctx.conn.send({ type: 'ok' });
  },
});

export const remove = defineCommand({
  type: 'delete',
  access: 'user',
  ordered: true,
  async run(ctx, message) {
    const name = normalizeRemotePath(message.name);
    const { quota, storage } = ctx.server;
    await quota.freed(ctx.user, await storage.delete(ctx.user, name));
    ctx.log.info({ user: ctx.user, command: 'delete', name }, 'deleted');
    ctx.conn.send({ type: 'ok' });
  },
});
