import { LpfError } from '../errors.js';

/** A failure of the local file system, said plainly ("cannot read x: permission denied"). */
export function localError(err: unknown, what: string): LpfError {
  if (err instanceof LpfError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'no such file or folder' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
  return new LpfError('LPF_ERR_LOCAL_IO', `${what}: ${why}`, { cause: err });
}
