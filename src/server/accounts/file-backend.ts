/** The login backend of a single server: users.txt and sessions.txt in the data folder, throttles in memory. */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { systemClock } from '../limits/clock.js';
import type { ServerLimits } from '../limits/limits.js';
import { LoginThrottle } from '../limits/login-throttle.js';
import { QuotaKeeper } from '../limits/quota.js';
import { RateWindow } from '../limits/rate-window.js';
import { describeProblem } from './accounts-file.js';
import type { LoginBackend } from './backend.js';
import { FileAccounts } from './file-accounts.js';
import { LoginSessions } from './login-sessions.js';
import { watchLogins } from './login-watch.js';

export async function openFileBackend(root: string, limits: ServerLimits, log: Logger): Promise<LoginBackend> {
  const accountsPath = join(root, 'users.txt');
  const accounts = new FileAccounts(accountsPath, undefined, {
    problems: (problems) => {
      for (const p of problems) log.warn({ file: accountsPath, line: p.line, user: p.user, problem: p.kind }, describeProblem(p));
    },
  });
  await accounts.load();
  const loginSessions = new LoginSessions(join(root, 'sessions.txt'), limits.sessionTtlMs, systemClock);
  await loginSessions.load();
  return {
    name: 'files',
    accounts,
    loginSessions,
    accountThrottle: new LoginThrottle(limits.accountThrottle, systemClock),
    addressThrottle: new LoginThrottle(limits.addressThrottle, systemClock),
    registrations: new RateWindow(limits.registrationsPerHour, 3_600_000, systemClock),
    quota: (storage, quotaBytes) => new QuotaKeeper(storage, quotaBytes),
    check: () => access(root, constants.R_OK | constants.W_OK),
    watch: (live) => Promise.resolve(watchLogins(root, accounts, loginSessions, live, log)),
    close: () => Promise.resolve(),
  };
}
