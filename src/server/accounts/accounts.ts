/** What the server needs from an account store. */
export interface Accounts {
  /** Creates an account; returns the canonical user name. Throws LPF_ERR_USER_EXISTS, LPF_ERR_BAD_USERNAME, LPF_ERR_BAD_PASSWORD. */
  register(user: string, password: string): Promise<string>;
  /** Checks credentials; returns the canonical user name. Throws LPF_ERR_AUTH, the same for an unknown user and a wrong password. */
  verify(user: string, password: string): Promise<string>;
}
