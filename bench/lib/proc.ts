/**
 * Child processes for the benchmark. Every child runs in its own process
 * group (detached), has a time limit, and is remembered until it exits, so
 * that killAll() — called in a finally block and on exit or a signal — leaves
 * nothing behind even when a case fails half-way.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set<ChildProcess>();
const CAPTURE_LIMIT = 64 * 1024;

/** Children of every process, from /proc/PID/stat (this kernel has no /proc/PID/task/TID/children). */
function childrenMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  return children;
}

/** Every process below `pid` (children that moved to another process group included). */
export function descendants(pid: number): number[] {
  const children = childrenMap();
  const found: number[] = [];
  const stack = [pid];
  // Bounded: a process tree of the benchmark's own making is small.
  while (stack.length > 0 && found.length < 10_000) {
    for (const child of children.get(stack.pop() as number) ?? []) {
      found.push(child);
      stack.push(child);
    }
  }
  return found;
}

/** Sends `signal` to a child's process group and to every descendant of it. */
export function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  const pid = child.pid;
  if (pid === undefined) return;
  const below = child.exitCode === null && child.signalCode === null ? descendants(pid) : [];
  for (const target of [-pid, ...below]) {
    try {
      process.kill(target, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Kills every child still running. Synchronous, so it also works from an 'exit' handler. */
export function killAll(): void {
  for (const child of live) killTree(child);
  live.clear();
}

let handlersInstalled = false;

/** Makes sure children die with the benchmark, whether it ends normally, throws, or is interrupted. */
export function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every child process\n`);
      killAll();
      process.exit(130);
    });
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command (and its group) after this long. */
  timeoutMs: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From just before spawn() to the 'exit' event: the command's whole start-to-exit time. */
  ms: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command to completion and times it; never rejects for a non-zero exit (see runChecked). */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let ms = 0;
    let timedOut = false;
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdout.length < CAPTURE_LIMIT) stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < CAPTURE_LIMIT) stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, options.timeoutMs);
    child.once('exit', () => {
      ms = performance.now() - started;
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, ms, stdout, stderr, timedOut });
    });
  });
}

/** Like run(), but a failure (non-zero exit, signal, time-out) becomes an Error carrying the command's output. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0 || result.timedOut) {
    const why = result.timedOut ? `timed out after ${options.timeoutMs / 1000} s` : `exited with ${result.code ?? result.signal}`;
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
    throw new Error(`${command.split('/').pop()} ${why}${tail ? `: ${tail}` : ''}`);
  }
  return result;
}

/** A long-running child (a server or a worker). */
export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM to the group, then SIGKILL to the tree if it lingers; resolves once it is gone. */
  stop(): Promise<void>;
}

/** Starts a server whose output goes to `logFile`. */
export function startService(
  name: string,
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): Service {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  return track(name, child);
}

/** Starts a Node module as a worker process with an IPC channel; its stderr is ours. */
export function forkWorker(name: string, modulePath: string, args: readonly string[] = []): Service {
  const child = fork(modulePath, args, { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  return track(name, child);
}

function track(name: string, child: ChildProcess): Service {
  live.add(child);
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      gone = true;
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  return {
    name,
    child,
    pid,
    exited: () => gone,
    async stop() {
      if (!gone) {
        killTree(child, 'SIGTERM');
        await Promise.race([exited, sleep(3000)]);
      }
      // Whatever survived SIGTERM (or was forked below it) is killed outright.
      killTree(child, 'SIGKILL');
      await Promise.race([exited, sleep(2000)]);
      live.delete(child);
    },
  };
}

/** Polls `probe` until it returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(20);
  }
}

/** A time budget for the whole run: loops check it so that nothing can run away. */
export class Deadline {
  readonly #until: number;
  constructor(ms: number) {
    this.#until = performance.now() + ms;
  }
  check(what: string): void {
    if (performance.now() > this.#until) throw new Error(`bench time budget exhausted during ${what} (see --max-minutes)`);
  }
}
