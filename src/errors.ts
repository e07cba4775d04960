/**
 * One error taxonomy for the whole project. Every failure a user or a script
 * can meet carries a stable `code`; the server sends the same codes on the
 * wire, and the CLI maps each code to a documented exit status.
 */

/** Every stable error code, with the exit status the CLI uses for it. */
export const EXIT_CODES = {
  LPF_ERR_INTERNAL: 1,
  LPF_ERR_USAGE: 2,
  LPF_ERR_CONNECT: 3,
  LPF_ERR_CONNECTION_LOST: 4,
  LPF_ERR_TIMEOUT: 4,
  LPF_ERR_SHUTDOWN: 4,
  LPF_ERR_PROTOCOL: 5,
  LPF_ERR_VERSION: 5,
  LPF_ERR_AUTH: 6,
  LPF_ERR_USER_EXISTS: 6,
  LPF_ERR_BAD_USERNAME: 6,
  LPF_ERR_BAD_PASSWORD: 6,
  LPF_ERR_NO_CREDENTIALS: 6,
  LPF_ERR_NOT_LOGGED_IN: 6,
  LPF_ERR_SESSION: 6,
  LPF_ERR_NO_SUCH_USER: 6,
  LPF_ERR_NOT_FOUND: 7,
  LPF_ERR_BAD_NAME: 8,
  LPF_ERR_LOCAL_EXISTS: 9,
  LPF_ERR_LOCAL_IO: 9,
  LPF_ERR_SERVER: 10,
  LPF_ERR_CHECKSUM: 11,
  LPF_ERR_SIZE_MISMATCH: 11,
  LPF_ERR_HOST_KEY: 12,
  LPF_ERR_TLS: 12,
  LPF_ERR_BUSY: 13,
  LPF_ERR_THROTTLED: 13,
  LPF_ERR_QUOTA: 13,
  LPF_ERR_TOO_LARGE: 13,
  LPF_ERR_LOCKED: 13,
  LPF_ERR_EXISTS: 14,
  LPF_ERR_NOT_EMPTY: 14,
  LPF_ERR_IS_FOLDER: 14,
  LPF_ERR_NOT_FOLDER: 14,
} as const;

export type ErrorCode = keyof typeof EXIT_CODES;

/**
 * Failures of one command that leave the connection in step: the server
 * answers with an error and waits for the next command, so a client working
 * through many files goes on. Every other error ends the connection.
 */
export const COMMAND_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'LPF_ERR_AUTH',
  'LPF_ERR_USER_EXISTS',
  'LPF_ERR_BAD_USERNAME',
  'LPF_ERR_BAD_PASSWORD',
  'LPF_ERR_SESSION',
  'LPF_ERR_NOT_FOUND',
  'LPF_ERR_BAD_NAME',
  'LPF_ERR_CHECKSUM',
  'LPF_ERR_SIZE_MISMATCH',
  'LPF_ERR_QUOTA',
  'LPF_ERR_TOO_LARGE',
  'LPF_ERR_EXISTS',
  'LPF_ERR_NOT_EMPTY',
  'LPF_ERR_IS_FOLDER',
  'LPF_ERR_NOT_FOLDER',
]);

/** True when `code` is one of the documented codes (used to vet codes read off the wire). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(EXIT_CODES, code);
}

/** The base of every error lpf raises on purpose. */
export class LpfError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LpfError';
    this.code = code;
  }

  /** The CLI exit status for this error. */
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** Wraps anything thrown into an LpfError, keeping an LpfError as it is. */
export function toLpfError(err: unknown, fallback: ErrorCode = 'LPF_ERR_INTERNAL'): LpfError {
  if (err instanceof LpfError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LpfError(fallback, message, { cause: err });
}
