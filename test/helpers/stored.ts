/**
 * What a running server keeps for a user, read from wherever it keeps it: ROOT/files/<user> on the disk,
 * or the objects under <prefix>/files/<user>/ of the test Swift when the server is on S3 (see
 * LPF_TEST_STORAGE in processes.ts). End-to-end tests check the server's side through these, so the same
 * test runs on both backends.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { RunningServer } from './processes.js';
import { s3Client, sharedSwift } from './swift.js';

let client: Promise<{ s3: S3Client; bucket: string }> | undefined;

function s3(): Promise<{ s3: S3Client; bucket: string }> {
  client ??= sharedSwift().then((swift) => ({
    bucket: swift.bucket,
    s3: s3Client(swift),
  }));
  return client;
}

/** Every key under `prefix`. */
/** Every key under `prefix` in the shared Swift bucket. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const { s3: c, bucket } = await s3();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(out.Contents ?? []).map((o) => o.Key ?? ''));
    token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

function userPrefix(server: RunningServer, user: string): string {
  return `${server.s3Prefix}/files/${user}/`;
}

/** A file's content, or undefined when there is no such file. */
export async function storedContent(server: RunningServer, user: string, path: string): Promise<Buffer | undefined> {
  if (server.s3Prefix === undefined) return readFile(join(server.root, 'files', user, path)).catch(() => undefined);
  const { s3: c, bucket } = await s3();
  try {
    const out = await c.send(new GetObjectCommand({ Bucket: bucket, Key: userPrefix(server, user) + path }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch {
    return undefined;
  }
}

export async function storedSha256(server: RunningServer, user: string, path: string): Promise<string | undefined> {
  const content = await storedContent(server, user, path);
  return content && createHash('sha256').update(content).digest('hex');
}

/** What `path` is on the server: a file, a folder, or nothing. */
export async function storedKind(server: RunningServer, user: string, path: string): Promise<'file' | 'dir' | undefined> {
  if (server.s3Prefix === undefined) {
    const info = await stat(join(server.root, 'files', user, path)).catch(() => undefined);
    return info?.isDirectory() ? 'dir' : info?.isFile() ? 'file' : undefined;
  }
  const keys = await keysUnder(userPrefix(server, user) + path);
  const key = userPrefix(server, user) + path;
  if (keys.includes(key)) return 'file';
  return keys.some((k) => k.startsWith(`${key}/`)) ? 'dir' : undefined;
}

/** The names in a folder of the user's (its children), as readdir gives them. */
export async function storedNames(server: RunningServer, user: string, folder = ''): Promise<string[]> {
  if (server.s3Prefix === undefined) return readdir(join(server.root, 'files', user, folder)).catch(() => []);
  const prefix = userPrefix(server, user) + (folder === '' ? '' : `${folder}/`);
  const names = new Set<string>();
  for (const key of await keysUnder(prefix)) {
    const name = key.slice(prefix.length).split('/')[0];
    if (name) names.add(name);
  }
  return [...names];
}

/** Every file (by SHA-256) and folder under a folder of the user's, by path relative to it. */
export async function storedTree(server: RunningServer, user: string, folder: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (server.s3Prefix === undefined) {
    const root = join(server.root, 'files', user, folder);
    for (const name of await readdir(root, { recursive: true })) {
      const path = join(root, name);
      const info = await stat(path);
      found.set(
        relative(root, path),
        info.isDirectory()
          ? 'dir'
          : createHash('sha256')
              .update(await readFile(path))
              .digest('hex'),
      );
    }
    return found;
  }
  const prefix = `${userPrefix(server, user)}${folder}/`;
  for (const key of await keysUnder(prefix)) {
    const rel = key.slice(prefix.length);
    const parts = rel.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) found.set(parts.slice(0, i).join('/'), 'dir');
    if (rel === '') continue;
    if (rel.endsWith('/')) found.set(parts.join('/'), 'dir');
    else found.set(rel, (await storedSha256(server, user, `${folder}/${rel}`)) ?? 'missing');
  }
  return found;
}

/** Places a file in the user's storage by other means than lpf (an admin's copy, another S3 tool). */
export async function placeFile(server: RunningServer, user: string, path: string, content: Buffer | string): Promise<void> {
  if (server.s3Prefix === undefined) {
    const target = join(server.root, 'files', user, path);
    await mkdir(dirname(target), { recursive: true });
    return writeFile(target, content);
  }
  const { s3: c, bucket } = await s3();
  const body = Buffer.from(content);
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: userPrefix(server, user) + path, Body: body, ContentLength: body.length }));
}
