/** Argument helpers shared by both CLIs. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LpfError } from '../errors.js';

/**
 * lpf promises single-dash long options (`-upload`), which no argument parser
 * accepts as given: rewrite `-word` to `--word` for the long options we know,
 * then let util.parseArgs do the rest. Unknown `-words` are left alone so the
 * parser reports them.
 */
export function normalizeLongOptions(argv: string[], longNames: Iterable<string>): string[] {
  const known = new Set(longNames);
  const out: string[] = [];
  let afterDoubleDash = false;
  for (const arg of argv) {
    if (!afterDoubleDash && arg === '--') afterDoubleDash = true;
    const m = afterDoubleDash ? null : /^-([a-z][a-z0-9-]+)(=.*)?$/i.exec(arg);
    out.push(m && known.has(m[1] as string) ? `-${arg}` : arg);
  }
  return out;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with single-dash long options and usage errors as LpfError. */
export function parseCommandLine<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: normalizeLongOptions(argv, Object.keys(options)), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new LpfError('LPF_ERR_USAGE', (err as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** Parses a TCP port (0 = any free port, for tests). */
export function parsePort(text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new LpfError('LPF_ERR_USAGE', `${what}: "${text}" is not a port number (0-65535)`);
  return port;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses a positive number of seconds (fractions allowed) into milliseconds. */
export function parseSeconds(text: string, what: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  const ms = Math.round(seconds * 1000);
  // Below a millisecond would round to 0, which for a socket timeout means "never".
  if (!(ms >= 1)) throw new LpfError('LPF_ERR_USAGE', `${what}: "${text}" is not a number of seconds of at least 0.001`);
  // Node's timers overflow past 2^31 - 1 ms (about 24.8 days) and then fire at once.
  if (ms > MAX_TIMER_MS) throw new LpfError('LPF_ERR_USAGE', `${what}: "${text}" is over the maximum of ${MAX_TIMER_MS / 1000} seconds`);
  return ms;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses a size such as 1048576, 512M or 10G (binary units) into bytes. */
export function parseBytes(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * (UNITS[(m[2] as string).toUpperCase()] as number)) : NaN;
  if (!(bytes >= 0) || !Number.isSafeInteger(bytes))
    throw new LpfError('LPF_ERR_USAGE', `${what}: "${text}" is not a size (such as 500M or 10G)`);
  return bytes;
}

/** Parses a whole number at least `min`. */
export function parseCount(text: string, what: string, min = 1): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min) || !Number.isSafeInteger(n))
    throw new LpfError('LPF_ERR_USAGE', `${what}: "${text}" is not a whole number of at least ${min}`);
  return n;
}
