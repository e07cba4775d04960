/** Runs `op`; when it fails because a folder on the way is missing (ENOENT), runs `makeFolder` and `op` once more. */
export async function retryAfterMakingFolder<T>(op: () => Promise<T>, makeFolder: () => Promise<unknown>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await makeFolder();
    return op();
  }
}
