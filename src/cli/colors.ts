/**
 * The few colours lpf uses, decided per output stream:
 *
 * - NO_COLOR set to anything but "" (no-color.org): never, whatever else is set.
 * - FORCE_COLOR "0" or "false": never; any other non-empty value: always, even
 *   into a pipe or a file (for CI logs and `less -R`).
 * - Otherwise only when the stream is a terminal and TERM is not "dumb".
 *
 * picocolors supplies the escape sequences (and restores an outer style after
 * a nested one); its own detection looks only at stdout, so lpf decides here.
 */
import picocolors from 'picocolors';

/** What a style needs to know of a stream: whether it is a terminal. */
export interface ColorStream {
  isTTY?: boolean;
}

/** The styles lpf's messages use; each is the identity when colour is off. */
export interface Palette {
  readonly enabled: boolean;
  /** "lpf: error:" */
  error(text: string): string;
  /** "lpf: warning:" */
  warning(text: string): string;
  /** A folder's name in a listing. */
  folder(text: string): string;
  /** Secondary details: sizes, times, speeds. */
  dim(text: string): string;
}

/** True when text written to `stream` may carry colour (the rules above). */
export function colorEnabled(stream: ColorStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force) return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** The styles for text written to `stream`. */
export function palette(stream: ColorStream, env: NodeJS.ProcessEnv = process.env): Palette {
  const enabled = colorEnabled(stream, env);
  const c = picocolors.createColors(enabled);
  return {
    enabled,
    error: (text) => c.bold(c.red(text)),
    warning: (text) => c.yellow(text),
    folder: (text) => c.bold(c.blue(text)),
    dim: (text) => c.dim(text),
  };
}
