/** What the server needs from an account store. */
import { normalizeUserName } from '../../protocol/index.js';

export interface Accounts {
  /** Creates an account; returns the canonical user name. Throws LPF_ERR_USER_EXISTS, LPF_ERR_BAD_USERNAME, LPF_ERR_BAD_PASSWORD. */
  register(user: string, password: string): Promise<string>;
  /** Checks credentials; returns the canonical user name. Throws LPF_ERR_AUTH, the same for an unknown user and a wrong password. */
  verify(user: string, password: string): Promise<string>;
}

/**
 * The stored form of a name given at login, or undefined when no account can have it: the login then
 * fails as with a wrong password (LPF_ERR_AUTH), never with a different error that would tell names apart.
 */
export function loginName(user: string): string | undefined {
  try {
    return normalizeUserName(user);
  } catch {
    return undefined;
  }
}
