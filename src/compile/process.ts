/**
 * Runs one child process with its output streamed line by line (to `log` events) and the last
 * lines kept for error messages. Cancelling `signal` kills the child (SIGTERM, then SIGKILL).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface StreamingCommand {
  file: string;
  args: string[];
  cwd: string;
  /** Added to the parent's environment. */
  env?: Record<string, string | undefined>;
  signal: AbortSignal;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** How many trailing output lines to keep (default 20). */
  keepLines?: number;
}

export interface StreamingResult {
  exitCode: number;
  /** Set when the process could not start (ENOENT, EACCES). */
  spawnErrorCode?: string;
  canceled: boolean;
  /** Last output lines of stdout and stderr interleaved, oldest first. */
  tail: string[];
  /** Every stdout line (for commands whose output is parsed, e.g. `docker push`). */
  stdout: string[];
}

export async function runStreaming(command: StreamingCommand): Promise<StreamingResult> {
  const keep = command.keepLines ?? 20;
  const tail: string[] = [];
  const stdout: string[] = [];
  // execa is imported on first use: a no-op build never spawns anything and must not pay for it.
  const { execa } = await import('execa');
  const child = execa(command.file, command.args, {
    cwd: command.cwd,
    env: command.env,
    extendEnv: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cancelSignal: command.signal,
    forceKillAfterDelay: 3_000,
  });
  const follow = (stream: Readable | null, name: 'stdout' | 'stderr'): Promise<void> => {
    if (!stream) return Promise.resolve();
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (name === 'stdout') stdout.push(line);
      tail.push(line);
      if (tail.length > keep) tail.shift();
      command.onLine?.(line, name);
    });
    return new Promise((resolve) => lines.once('close', () => resolve()));
  };
  const [result] = await Promise.all([child, follow(child.stdout, 'stdout'), follow(child.stderr, 'stderr')]);
  const spawnErrorCode = result.failed && result.exitCode === undefined && !result.isCanceled ? (result as { code?: string }).code : undefined;
  return {
    exitCode: result.exitCode ?? -1,
    spawnErrorCode,
    canceled: Boolean(result.isCanceled) || command.signal.aborted,
    tail,
    stdout,
  };
}

/** Quotes an argv for display in messages (not for a shell to run). */
export function displayCommand(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
