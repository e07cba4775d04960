/**
 * Noticing that another process replaced users.txt or sessions.txt (`lpf-server users`, an admin's editor)
 * while connections are logged in. Checking on each command would leave an idle connection, or one in the
 * middle of a long download, logged in; so the folder is watched (inotify and the like: at once), and polled
 * as well, since some file systems (NFS, some containers' mounts) never report a change.
 */
import { watch, type FSWatcher } from 'node:fs';

/** How often the files are checked when no notification comes: a stat each, cheap. */
export const WATCH_POLL_MS = 2000;

/**
 * Calls `check` soon after a file named one of `names` in `dir` changes, and every `pollMs` anyway; never
 * two checks at once (a change during a check makes one more). Returns a function that stops watching.
 */
export function watchFiles(dir: string, names: readonly string[], check: () => Promise<void>, pollMs = WATCH_POLL_MS): () => void {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = check().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name === null || names.includes(name)) run();
    });
    watcher.on('error', () => watcher?.close()); // the poll carries on alone
  } catch {
    watcher = undefined; // no notifications here: the poll alone
  }
  const poll = setInterval(run, pollMs);
  poll.unref();
  return () => {
    clearInterval(poll);
    watcher?.close();
  };
}
