/**
 * The compile stage: the user's command in the artifact's context with its env; output becomes
 * `log` events. The array form runs without a shell; the string form runs under /bin/sh -c.
 */
import type { ArtifactConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { DevloopError, firstLine } from '../errors.js';
import { displayCommand, runStreaming } from '../util/process.js';

/** A failed user or tool command; `outputTail` holds its last output lines (also streamed as logs). */
export class CommandFailedError extends DevloopError {
  readonly outputTail: string[];
  constructor(code: string, message: string, options: { hint?: string; outputTail: string[]; exitCode?: number }) {
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

export async function runCompile({ artifact, emit, signal }: CompileRequest): Promise<void> {
  const compile = artifact.compile;
  if (!compile) return;
  const argv = typeof compile.command === 'string' ? ['/bin/sh', '-c', compile.command] : compile.command;
  const shown = typeof compile.command === 'string' ? compile.command : displayCommand(compile.command);
  if (argv.length === 0 || argv[0] === '') {
    throw new DevloopError('COMPILE_EMPTY', `${artifact.image}: compile.command is empty`, { hint: 'set compile.command in devloop.yaml' });
  }
  const result = await runStreaming({
    file: argv[0]!,
    args: argv.slice(1),
    cwd: artifact.context,
    env: compile.env,
    signal,
    onLine: (line, stream) => emit({ type: 'log', artifact: artifact.image, stage: 'compile', stream, line }),
  });
  if (result.canceled) throw abortError(signal);
  // sh reports a missing command as exit 127.
  const notFound = result.spawnErrorCode === 'ENOENT' || (typeof compile.command === 'string' && result.exitCode === 127);
  if (notFound) {
    const program = typeof compile.command === 'string' ? compile.command.trim().split(/\s+/)[0] : argv[0];
    throw new CommandFailedError('COMPILE_NOT_FOUND', `${artifact.image}: compile command "${program}" not found`, {
      hint: `install it or fix compile.command in devloop.yaml (run in ${artifact.context})`,
      outputTail: result.tail,
    });
  }
  if (result.spawnErrorCode) {
    throw new CommandFailedError('COMPILE_FAILED', `${artifact.image}: compile command "${shown}" could not start (${result.spawnErrorCode})`, {
      hint: 'check that the command is executable',
      outputTail: result.tail,
    });
  }
  if (result.exitCode !== 0) {
    const last = [...result.tail].reverse().find((l) => l.trim() !== '');
    throw new CommandFailedError(
      'COMPILE_FAILED',
      `${artifact.image}: compile "${shown}" failed with exit code ${result.exitCode}${last ? `: ${firstLine(last)}` : ''}`,
      {
        hint: result.tail.length ? `its last ${result.tail.length} output lines are above (log events of stage compile)` : `it printed nothing; run it in ${artifact.context}`,
        outputTail: result.tail,
      },
    );
  }
}
