/** How disk failures reach the client: typed, and without the server's paths. */
import { LpfError } from '../../errors.js';

/** Whether `err` is a Node system error with this errno code. */
export function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/** Missing (or out of reach) in the user's tree. */
export function notFound(name: string): LpfError {
  return new LpfError('LPF_ERR_NOT_FOUND', `no such file or folder: ${JSON.stringify(name)}`);
}

/** Something other than a file or folder, which lpf never serves. */
export function notRegular(name: string): LpfError {
  return new LpfError(
    'LPF_ERR_NOT_FOUND',
    `${JSON.stringify(name)} is not a regular file (a link, a pipe or a device placed on the server): only regular files and folders are served`,
  );
}

/** A file operation on a folder; `hint` says what to do instead. */
export function isAFolder(name: string, hint: string): LpfError {
  return new LpfError('LPF_ERR_IS_FOLDER', `${JSON.stringify(name)} is a folder; ${hint}`);
}

/** A server-side I/O failure, described without leaking server paths to the client. */
export function storageError(err: unknown, action: string): LpfError {
  if (err instanceof LpfError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'the server is out of disk space'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'the server may not write there (permission denied)'
        : `server I/O error${code ? ` (${code})` : ''}`;
  return new LpfError('LPF_ERR_SERVER', `could not ${action}: ${why}`, { cause: err });
}
