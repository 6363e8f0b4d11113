/**
 * The compile stage: the user's command in the artifact's context with its env; output becomes
 * `log` events. The array form runs without a shell; the string form runs under /bin/sh -c.
 */
import type { ArtifactConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { DevloopError, firstLine, type ErrorCode } from '../errors.js';
import { displayCommand, runStreaming } from '../util/process.js';

/** A failed user or tool command; `outputTail` holds its last output lines (also streamed as logs). */
export class CommandFailedError extends DevloopError {
  readonly outputTail: string[];
  constructor(code: ErrorCode, message: string, options: { hint?: string; outputTail: string[]; exitCode?: number }) {
    super(code, message, { hint: options.hint, exitCode: options.exitCode });
    this.outputTail = options.outputTail;
  }
}

export function abortError(signal: AbortSignal): DevloopError {
  const reason: unknown = signal.reason;
  return reason instanceof DevloopError ? reason : new DevloopError('INTERRUPTED', 'interrupted', { exitCode: 130 });
}

export interface CompileRequest {
  artifact: ArtifactConfig;
  emit: Emit;
  signal: AbortSignal;
}

/** A command from devloop.yaml (compile, hook, custom build): array without a shell, string under /bin/sh -c. */
export interface UserCommand {
  command: string[] | string;
  cwd: string;
  env?: Record<string, string>;
  signal: AbortSignal;
  timeoutMs?: number;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** How a user command ended; failures say which way, for the caller's own one-line error. */
export type UserCommandOutcome =
  | { ok: true }
  | {
      ok: false;
      /** timeout: stopped after timeoutMs; not-found: no such program (sh's 127 too); spawn: could not start; exit: non-zero. */
      kind: 'timeout' | 'not-found' | 'spawn' | 'exit';
      /** The program name (first word of a shell string). */
      program: string;
      /** The command as written, for messages. */
      shown: string;
      exitCode: number;
      spawnErrorCode?: string;
      /** Its last non-empty output line. */
      last?: string;
      tail: string[];
    };

/** Runs a user command through the process helper (own process group, bounded stop); throws only when aborted. */
export async function runUserCommand(request: UserCommand): Promise<UserCommandOutcome> {
  const { command } = request;
  const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
  const shown = typeof command === 'string' ? command : displayCommand(command);
  const program = (typeof command === 'string' ? command.trim().split(/\s+/)[0] : argv[0]) ?? '';
  const result = await runStreaming({ file: argv[0]!, args: argv.slice(1), cwd: request.cwd, env: request.env, signal: request.signal, timeoutMs: request.timeoutMs, onLine: request.onLine });
  if (result.canceled) throw abortError(request.signal);
  const last = [...result.tail].reverse().find((l) => l.trim() !== '');
  const failed = { ok: false as const, program, shown, exitCode: result.exitCode, spawnErrorCode: result.spawnErrorCode, last: last ? firstLine(last) : undefined, tail: result.tail };
  if (result.timedOut) return { ...failed, kind: 'timeout' };
  // sh reports a missing command as exit 127.
  if (result.spawnErrorCode === 'ENOENT' || (typeof command === 'string' && result.exitCode === 127)) return { ...failed, kind: 'not-found' };
  if (result.spawnErrorCode) return { ...failed, kind: 'spawn' };
  if (result.exitCode !== 0) return { ...failed, kind: 'exit' };
  return { ok: true };
}

export async function runCompile({ artifact, emit, signal }: CompileRequest): Promise<void> {
  const compile = artifact.compile;
  if (!compile) return;
  if (Array.isArray(compile.command) && (compile.command[0] ?? '') === '') {
    throw new DevloopError('COMPILE_EMPTY', `${artifact.image}: compile.command is empty`, { hint: 'set compile.command in devloop.yaml' });
  }
  const outcome = await runUserCommand({
    command: compile.command,
    cwd: artifact.context,
    env: compile.env,
    signal,
    onLine: (line, stream) => emit({ type: 'log', artifact: artifact.image, stage: 'compile', stream, line }),
  });
  if (outcome.ok) return;
  const outputTail = outcome.tail;
  if (outcome.kind === 'not-found') {
    throw new CommandFailedError('COMPILE_NOT_FOUND', `${artifact.image}: compile command "${outcome.program}" not found`, {
      hint: `install it or fix compile.command in devloop.yaml (run in ${artifact.context})`,
      outputTail,
    });
  }
  if (outcome.kind === 'spawn') {
    throw new CommandFailedError('COMPILE_FAILED', `${artifact.image}: compile command "${outcome.shown}" could not start (${outcome.spawnErrorCode})`, {
      hint: 'check that the command is executable',
      outputTail,
    });
  }
  throw new CommandFailedError(
    'COMPILE_FAILED',
    `${artifact.image}: compile "${outcome.shown}" failed with exit code ${outcome.exitCode}${outcome.last ? `: ${outcome.last}` : ''}`,
    {
      hint: outputTail.length ? `its last ${outputTail.length} output lines are above (log events of stage compile)` : `it printed nothing; run it in ${artifact.context}`,
      outputTail,
    },
  );
}
