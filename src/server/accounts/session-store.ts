/** What the server needs from a store of login sessions: sessions.txt (LoginSessions) or PostgreSQL (PgSessions). */

export interface LoginSession {
  user: string;
  expires: number;
}

export interface SessionStore {
  /** Starts a session for `user`; resolves with the token (never stored: only its SHA-256 is) and its expiry. */
  create(user: string): Promise<{ token: string; expires: number }>;
  /** The live session of a token, or undefined (unknown, ended or expired). */
  get(token: string): LoginSession | undefined | Promise<LoginSession | undefined>;
  /** Ends one session. */
  revoke(token: string): Promise<void>;
  /** Ends every session of `user`; resolves with how many were live. */
  revokeAll(user: string): Promise<number>;
}
