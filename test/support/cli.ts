/**
 * The one way the tests run the built CLI (`bin/devloop.js` → `dist/`, so `npm run build` first):
 * a child process with the same clean environment (`childEnv`), either to completion (`devloop`)
 * or as a long-running process whose `--output json` events are read as they come (`startDevloop`).
 * Used by the end-to-end, run, dev and cluster suites.
 */
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (overridable: the benchmarks run a compiled copy of the test support from elsewhere). */
export const ROOT = process.env.DEVLOOP_REPO_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'devloop.js');

export interface CliEvent {
  type: string;
  [key: string]: unknown;
}

/**
 * The child's environment: the outer one without CI (the example's profiles and the renderers
 * react to it) and without DEVLOOP_* settings (DEVLOOP_TEST_* stay), plus `env`.
 */
export function childEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const clean: Record<string, string | undefined> = { ...process.env, CI: undefined, NO_COLOR: '1' };
  for (const key of Object.keys(clean)) if (key.startsWith('DEVLOOP_') && !key.startsWith('DEVLOOP_TEST_')) clean[key] = undefined;
  return { ...clean, ...env };
}

function parseEvents(stdout: string): CliEvent[] {
  const events: CliEvent[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as CliEvent);
    } catch {
      // a partial line is not an event
    }
  }
  return events;
}

export interface CliRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  events: CliEvent[];
  ms: number;
}

/** Runs `devloop args…` in `cwd` to completion (killed after timeoutMs). */
export async function devloop(cwd: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<CliRun> {
  const started = performance.now();
  const result = await execa(process.execPath, [CLI, ...args], { cwd, env: childEnv(env), extendEnv: false, reject: false, timeout: timeoutMs });
  const stdout = String(result.stdout);
  return { exitCode: result.exitCode, stdout, stderr: String(result.stderr), events: parseEvents(stdout), ms: performance.now() - started };
}

export interface RunningCli {
  child: ChildProcess;
  events: CliEvent[];
  stdout(): string;
  stderr(): string;
  /** The first event (at index `from` or later) matching `predicate`; rejects after timeoutMs or when the process exits first. */
  waitFor(predicate: (event: CliEvent) => boolean, timeoutMs: number, from?: number): Promise<CliEvent>;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  /** Sends `signal` and waits up to timeoutMs for the exit; returns the code and how long it took. */
  signal(signal: NodeJS.Signals, timeoutMs: number): Promise<{ code: number | string | null; ms: number }>;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

const running = new Set<RunningCli>();

/**
 * Starts `devloop args…` in the background (use `--output json` to get events). `stdin: 'pipe'`
 * lets the test type commands (`devloop dev` reads keys / lines from stdin).
 */
export function startDevloop(cwd: string, args: string[], env: Record<string, string | undefined>, options: { stdin?: 'ignore' | 'pipe' } = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: childEnv(env), stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] });
  const events: CliEvent[] = [];
  let out = '';
  let err = '';
  let rest = '';
  const wakers = new Set<() => void>();
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    events.push(...parseEvents(lines.join('\n')));
    for (const wake of wakers) wake();
  });
  child.stderr!.on('data', (chunk: string) => {
    err += chunk;
  });
  let done = false;
  const exited = new Promise<number | string | null>((resolveExit) =>
    child.once('exit', (code, signal) => {
      done = true;
      for (const wake of wakers) wake();
      resolveExit(code ?? signal);
    }),
  );
  const tail = (): string => `\nlast events:\n${events.slice(-12).map((e) => JSON.stringify(e)).join('\n')}\nstderr: ${err.slice(-2000)}`;

  const handle: RunningCli = {
    child,
    events,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(predicate, timeoutMs, from = 0) {
      return new Promise((resolveWait, reject) => {
        const finish = (): void => {
          wakers.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          const found = events.slice(from).find(predicate);
          if (found) {
            finish();
            resolveWait(found);
          } else if (done) {
            finish();
            reject(new Error(`devloop exited (${child.exitCode ?? child.signalCode}) before the awaited event${tail()}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out after ${timeoutMs}ms waiting for an event${tail()}`));
        }, timeoutMs);
        wakers.add(check);
        check();
      });
    },
    async signal(signal, timeoutMs) {
      const started = performance.now();
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`devloop did not exit within ${timeoutMs}ms of ${signal}${tail()}`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return { code, ms: performance.now() - started };
    },
    async kill() {
      running.delete(handle);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Kills every process startDevloop started that is still running. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((r) => r.kill()));
}

