/**
 * The record of logins that stopped holding (an account removed, a password changed, a session
 * ended), written in the transaction that made the change, with a NOTIFY that wakes every server at
 * its commit. A server that missed the NOTIFY (its LISTEN connection was down) finds the rows at its
 * next periodic check.
 */
import type { Queryable } from './database.js';

/** The channel every server LISTENs on; the payload is empty: the rows say what changed. */
export const LOGIN_CHANNEL = 'lpf_logins';

export type ChangeKind = 'removed' | 'password' | 'session';

export interface LoginChange {
  seq: string;
  kind: ChangeKind;
  user: string;
  /** For kind 'session': the SHA-256 (hex) of the ended session's token. */
  tokenSha256: string | null;
  atMs: number;
}

/** Records a change inside the caller's transaction and notifies every server at its commit. */
export async function recordChange(client: Queryable, change: Omit<LoginChange, 'seq'>): Promise<void> {
  await client.query('INSERT INTO login_changes (kind, user_name, token_sha256, at_ms) VALUES ($1, $2, $3, $4)', [
    change.kind,
    change.user,
    change.tokenSha256,
    change.atMs,
  ]);
  await client.query(`SELECT pg_notify('${LOGIN_CHANNEL}', '')`);
}

/** The changes recorded since `sinceMs`, oldest first. */
export async function changesSince(db: Queryable, sinceMs: number): Promise<LoginChange[]> {
  const { rows } = await db.query<{ seq: string; kind: ChangeKind; user_name: string; token_sha256: string | null; at_ms: string }>(
    'SELECT seq, kind, user_name, token_sha256, at_ms FROM login_changes WHERE at_ms >= $1 ORDER BY seq',
    [sinceMs],
  );
  return rows.map((r) => ({ seq: r.seq, kind: r.kind, user: r.user_name, tokenSha256: r.token_sha256, atMs: Number(r.at_ms) }));
}
