/**
 * Drives a program through a real pseudo-terminal, answering prompts as a
 * person would. Uses util-linux `script`, which allocates the terminal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cleanEnv } from './processes.js';
import { skipUnlessInstalled } from './engines.js';

export function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The `skip` option of a test that needs a pseudo-terminal: a loud reason locally when util-linux
 * `script` is missing, but never under CI=true, where a missing tool must fail the run, not skip it.
 */
export function skipWithoutScript(): string | false {
  return skipUnlessInstalled(hasScript(), 'util-linux script is not installed (apt-get install util-linux): terminal tests');
}

export interface Dialogue {
  /** Wait for this on the screen, then type `answer` (Enter is added). */
  expect: RegExp;
  answer: string;
}

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed, escape sequences included. */
  screen: string;
}

/** Quotes one argument for the shell that `script -c` starts. */
function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function runInPty(
  argv: string[],
  dialogue: Dialogue[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<PtyResult> {
  const child = spawn('script', ['-qfec', argv.map(shellQuote).join(' '), '/dev/null'], {
    env: cleanEnv({ TERM: 'xterm-256color', ...options.env }),
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const steps = [...dialogue];
  let screen = '';
  let seen = 0; // where the next expected prompt may start
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty dialogue timed out; waiting for ${steps[0]?.expect}; screen: ${JSON.stringify(screen)}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString('utf8');
      const step = steps[0];
      if (step && step.expect.test(screen.slice(seen))) {
        steps.shift();
        seen = screen.length;
        // A short pause, as a person would make, so the prompt is ready for input.
        setTimeout(() => child.stdin.write(`${step.answer}\r`), 30);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, screen }));
    });
  });
}
