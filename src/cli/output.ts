/**
 * What a command prints. For people: a line per result on stdout (none with
 * --quiet), errors as one line on stderr. For scripts (--json): one JSON
 * object per result on stdout, `{"ok": true, "command": …, …}`, and on failure
 * `{"ok": false, "error": {"code", "message", "exitCode"}}` (the human line
 * still goes to stderr).
 */
import type { LpfError } from '../errors.js';
import { palette } from './colors.js';

export interface Output {
  /** A result: `text` for people (dropped with --quiet), `data` for --json. */
  result(text: string | undefined, data: Record<string, unknown>): void;
  /** What the command exists to print (a listing, a checksum line): shown even with --quiet, not in --json. */
  always(text: string): void;
  readonly json: boolean;
}

export function createOutput(command: string, options: { json: boolean; quiet: boolean }): Output {
  const line = (text: string) => process.stdout.write(`${text}\n`);
  return {
    json: options.json,
    result(text, data) {
      if (options.json) line(JSON.stringify({ ok: true, command, ...data }));
      else if (text !== undefined && !options.quiet) line(text);
    },
    always(text) {
      if (!options.json) line(text);
    },
  };
}

/** Reports a failure: one line on stderr, and with --json also an object on stdout. */
export function reportError(error: LpfError, json: boolean): void {
  const c = palette(process.stderr);
  process.stderr.write(`${c.error('lpf: error:')} ${error.message} ${c.dim(`[${error.code}]`)}\n`);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ok: false, error: { code: error.code, message: error.message, exitCode: error.exitCode } })}\n`,
    );
  }
}

/** A warning: one line on stderr, the command goes on. */
export function reportWarning(text: string): void {
  process.stderr.write(`${palette(process.stderr).warning('lpf: warning:')} ${text}\n`);
}
