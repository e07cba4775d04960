import { LpfError } from '../errors.js';

/** The local failures people meet, in words. */
const LOCAL_ERRNO: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'the name or path is too long for the local file system',
  ENOSPC: 'the local disk is full',
};

/** A failure of the local file system, said plainly ("cannot read x: permission denied"). */
export function localError(err: unknown, what: string): LpfError {
  if (err instanceof LpfError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = LOCAL_ERRNO[e.code ?? ''] ?? e.message;
  return new LpfError('LPF_ERR_LOCAL_IO', `${what}: ${why}`, { cause: err });
}
