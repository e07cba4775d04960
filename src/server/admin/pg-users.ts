/**
 * Account administration in PostgreSQL, for `lpf-server users --accounts URL`: the same changes as on
 * users.txt, each in one transaction that also tells every running server (login-changes.ts), so
 * their live connections end at once. Stored files are removed through the Storage given, as on users.txt.
 */
import { systemClock } from '../limits/clock.js';
import { Database } from '../accounts/pg/database.js';
import { migrate } from '../accounts/pg/migrations.js';
import { PgAccounts } from '../accounts/pg/pg-accounts.js';
import { DEFAULT_SCRYPT, hashPassword } from '../accounts/password-hash.js';
import { checkNewPassword, userName, type UsersAdmin } from './users.js';

/** Connects to the accounts database (creating or migrating its schema, as a server would). */
export async function openPgAdmin(url: string): Promise<UsersAdmin> {
  const db = await Database.open(url, undefined, 2);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  const accounts = new PgAccounts(db, systemClock);
  return {
    kind: 'postgres',
    exists: (user) => accounts.exists(userName(user)),
    list: async () => ({ users: await accounts.list(), problems: [] }),
    async add(options, user, password) {
      const name = userName(user);
      checkNewPassword(password, options.minPasswordChars);
      await accounts.add(name, await hashPassword(password, options.params ?? DEFAULT_SCRYPT));
      return name;
    },
    async setPassword(options, user, password) {
      const name = userName(user);
      checkNewPassword(password, options.minPasswordChars);
      const sessionsEnded = await accounts.setPassword(name, await hashPassword(password, options.params ?? DEFAULT_SCRYPT));
      return { name, sessionsEnded };
    },
    async remove(user, files) {
      const name = userName(user);
      const sessionsEnded = await accounts.remove(name);
      return { name, sessionsEnded, removed: await files?.removeUser(name) };
    },
    close: () => db.close(),
  };
}
