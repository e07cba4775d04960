/** Running the real `lpf-server` to completion: `users` commands and start-up errors. */
import { spawn } from 'node:child_process';
import { LPF_SERVER, REPO, cleanEnv, collect, type RunResult } from './processes.js';

export interface ServerCliOptions {
  env?: Record<string, string>;
  /** Written to standard input, which is then closed (no terminal). */
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

export function runServerCli(args: string[], options: ServerCliOptions = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [LPF_SERVER, ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd ?? REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(options.input ?? '');
  return collect(child, options.timeoutMs ?? 30_000);
}

/** `lpf-server users …` against a data folder; the password, if any, on standard input. */
export function users(root: string, args: string[], password?: string, env?: Record<string, string>): Promise<RunResult> {
  const stdin = password === undefined ? [] : ['--password-stdin'];
  return runServerCli(['users', ...args, '--root', root, ...stdin], { input: password === undefined ? '' : `${password}\n`, env });
}
