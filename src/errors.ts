import type { StageName } from './events/types.js';
import type { ErrorCode } from './errors/codes.js';

export type { ErrorCode } from './errors/codes.js';

/**
 * Every failure devloop reports is a DevloopError: a stable `code`, a one-line message and a hint.
 * The CLI prints `message` and `hint`; stacks only with --verbose.
 */
export class DevloopError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Process exit code the CLI uses when this error ends a command. */
  readonly exitCode: number;
  /** The stage that failed, set by the stage runner (timedStage) on the way out; shown with the error. */
  stage: StageName | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; exitCode?: number; stage?: StageName } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.stage = options.stage;
  }
}

/** One of several independent failures (an artifact's build, a pre-flight check). */
export interface Failure {
  error: DevloopError;
  /** The artifact it belongs to, when it belongs to one. */
  artifact?: string;
}

/**
 * Several independent failures ending one command or iteration. Its own code and message sum
 * them up (exit code, iteration reason); the command boundary reports each failure once instead.
 */
export class FailuresError extends DevloopError {
  constructor(
    readonly failures: Failure[],
    summary: { code: ErrorCode; message: string; hint?: string },
  ) {
    // An interruption among the failures keeps its signal's exit code (130 SIGINT, 143 SIGTERM).
    const interrupted = failures.find((f) => f.error.code === 'INTERRUPTED' || f.error.exitCode === 130);
    super(summary.code, summary.message, { hint: summary.hint, exitCode: interrupted?.error.exitCode ?? 1 });
  }
}

/** Bad devloop.yaml (or another config file): exit code 2. */
export class ConfigError extends DevloopError {
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}

/** Bad command line: exit code 2. */
export class UsageError extends DevloopError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('USAGE', message, { ...options, exitCode: 2 });
  }
}

/** Wraps anything thrown into a DevloopError so renderers only ever see one shape. */
export function toDevloopError(error: unknown, fallbackCode: ErrorCode = 'INTERNAL'): DevloopError {
  if (error instanceof DevloopError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DevloopError(fallbackCode, firstLine(message), {
    hint: 'this is unexpected; run again with --verbose for the stack and report it',
    cause: error,
  });
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim();
}
