/**
 * Every failure devloop reports is a DevloopError: a stable `code`, a one-line message and a hint.
 * The CLI prints `message` and `hint`; stacks only with --verbose.
 */
export class DevloopError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** Process exit code the CLI uses when this error ends a command. */
  readonly exitCode: number;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad devloop.yaml (or another config file): exit code 2. */
export class ConfigError extends DevloopError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
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
export function toDevloopError(error: unknown, fallbackCode = 'INTERNAL'): DevloopError {
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
