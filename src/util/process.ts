/**
 * The one way devloop runs a child process (compile commands, docker, credential helpers, git, …).
 *
 * Each child runs in its own process group, and every stop signals the whole group: a shell's
 * grandchildren (`sleep 30 && go build`) go too, instead of keeping the output pipes open and
 * outliving devloop. Stopping is SIGTERM, then SIGKILL after a bounded grace; when the child exits on
 * its own, whatever it left running in its group is stopped the same way, so waiting for the output
 * to end is bounded. Groups still alive when devloop exits (e.g. a second Ctrl-C) are killed then.
 * Output is streamed line by line; the last lines are kept for error messages.
 */
import { createInterface } from 'node:readline';
import { loadBundle } from './bundled.js';
import type { Readable } from 'node:stream';

export interface StreamingCommand {
  file: string;
  args: string[];
  /** Default: the current directory. */
  cwd?: string;
  /** Added to the parent's environment. */
  env?: Record<string, string | undefined>;
  /** Aborting stops the process group. */
  signal?: AbortSignal;
  /** Written to stdin, which is then closed; without it stdin is empty. */
  input?: string;
  /** Stops the process group after this long (then `timedOut`). */
  timeoutMs?: number;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many trailing output lines to keep (default 20). */
  keepLines?: number;
}

export interface StreamingResult {
  exitCode: number;
  /** Set when the process could not start (ENOENT, EACCES). */
  spawnErrorCode?: string;
  canceled: boolean;
  timedOut: boolean;
  /** Last output lines of stdout and stderr interleaved, oldest first. */
  tail: string[];
  /** Every stdout line (for commands whose output is parsed, e.g. `docker push`). */
  stdout: string[];
  /** Every stderr line. */
  stderr: string[];
}

/** Between SIGTERM and SIGKILL to a process group. */
export const KILL_GRACE_MS = 3_000;

/** Process groups of children still running, killed when devloop exits. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the whole group is gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: no grace is possible any more, so SIGKILL.
  process.on('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

let execaModule: Promise<typeof import('execa')> | undefined;
/** execa on first use: a no-op build never spawns anything and must not pay for it (util/bundled.ts). */
function loadExeca(): Promise<typeof import('execa')> {
  execaModule ??= loadBundle<typeof import('execa')>(new URL('../vendor/execa.cjs', import.meta.url), () => import('execa'));
  return execaModule;
}

export async function runStreaming(command: StreamingCommand): Promise<StreamingResult> {
  const keep = command.keepLines ?? 20;
  const tail: string[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { signal } = command;
  if (signal?.aborted) return { exitCode: -1, canceled: true, timedOut: false, tail, stdout, stderr };
  installExitHook();
  const { execa } = await loadExeca();
  const child = execa(command.file, command.args, {
    cwd: command.cwd ?? process.cwd(),
    env: command.env,
    extendEnv: true,
    ...(command.input === undefined ? { stdin: 'ignore' as const } : { input: command.input }),
    buffer: false,
    reject: false,
    // Its own process group (setsid): the group can be signalled as a whole, and the terminal's
    // Ctrl-C reaches devloop only, which then stops the group itself.
    detached: true,
    // execa's own cleanup only kills the group leader; the exit hook above kills the group.
    cleanup: false,
  });
  const pgid = child.pid;
  if (pgid !== undefined) liveGroups.add(pgid);

  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping || pgid === undefined) return;
    stopping = true;
    signalGroup(pgid, 'SIGTERM');
    killTimer = setTimeout(() => {
      signalGroup(pgid, 'SIGKILL');
      liveGroups.delete(pgid);
    }, KILL_GRACE_MS);
  };
  const onAbort = (): void => stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timeout = command.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), stop()), command.timeoutMs);

  // Once the leader has exited, what it left behind is stopped too; output still open after the
  // grace (a process that left the group) is abandoned rather than waited for.
  let streamTimer: NodeJS.Timeout | undefined;
  child.once('exit', () => {
    if (pgid !== undefined && signalGroup(pgid, 0)) stop();
    streamTimer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, KILL_GRACE_MS + 1_000);
  });

  const follow = (stream: Readable | null, name: 'stdout' | 'stderr'): Promise<void> => {
    if (!stream) return Promise.resolve();
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      (name === 'stdout' ? stdout : stderr).push(line);
      tail.push(line);
      if (tail.length > keep) tail.shift();
      command.onLine?.(line, name);
    });
    return new Promise((resolve) => lines.once('close', () => resolve()));
  };
  try {
    const [result] = await Promise.all([child, follow(child.stdout, 'stdout'), follow(child.stderr, 'stderr')]);
    const canceled = Boolean(signal?.aborted);
    const spawnErrorCode = result.failed && result.exitCode === undefined && result.signal === undefined ? (result as { code?: string }).code : undefined;
    return { exitCode: result.exitCode ?? -1, spawnErrorCode, canceled, timedOut, tail, stdout, stderr };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(timeout);
    clearTimeout(streamTimer);
    // The group is gone once the leader exited and the output closed, unless something ignored SIGTERM.
    if (pgid !== undefined && signalGroup(pgid, 0)) {
      if (!stopping) stop();
    } else {
      clearTimeout(killTimer);
      if (pgid !== undefined) liveGroups.delete(pgid);
    }
  }
}

/** Quotes an argv for display in messages (not for a shell to run). */
export function displayCommand(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
