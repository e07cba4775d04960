/**
 * The server's structured logger: JSON lines for machines, readable lines on a
 * terminal. Nothing logged ever carries a password or a session token: each
 * line about a client names its connection (conn, peer), its user and the
 * command, and fields named password or token are redacted as a safety net.
 */
import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export async function createLogger(level: LogLevel, pretty: boolean): Promise<Logger> {
  const options: pino.LoggerOptions = { level, base: undefined, redact: ['password', '*.password', 'token', '*.token'] };
  if (!pretty) return pino(options, pino.destination({ fd: 1, sync: true }));
  const { default: prettyStream } = await import('pino-pretty');
  return pino(
    options,
    prettyStream({ colorize: !process.env.NO_COLOR, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}
