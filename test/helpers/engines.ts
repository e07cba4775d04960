/**
 * The one rule for tests that need an engine installed on the machine (PostgreSQL, Swift, HAProxy, Chromium,
 * util-linux `script`): under CI=true they always run, so a missing engine fails them (CI installs every
 * engine through scripts/install-engines.sh); elsewhere they are skipped, with a line nobody can miss.
 */
export function skipUnlessInstalled(installed: boolean, missing: string): string | false {
  if (installed || process.env.CI === 'true') return false;
  const reason = `${missing}: SKIPPED (CI=true would fail them)`;
  console.warn(`\n*** ${reason} ***\n`);
  return reason;
}
