import type { StageName } from '../events/types.js';

/** The little renderers need from a stream; process.stdout/stderr and test buffers both fit. */
export interface Output {
  write(chunk: string, callback?: (error?: Error | null) => void): boolean;
}

/** Resolves once everything written so far has been handed to the OS (so an exit does not cut output). */
export function flushed(output: Output): Promise<void> {
  return new Promise((resolve) => {
    output.write('', () => resolve());
  });
}

/**
 * Colour only when asked (no --no-color), when the stream is a terminal, and when NO_COLOR is not
 * set (https://no-color.org); FORCE_COLOR forces it on for terminals that do not say they are.
 */
export function shouldUseColor(options: { flag: boolean; isTTY: boolean | undefined; env: NodeJS.ProcessEnv }): boolean {
  if (!options.flag) return false;
  if (options.env.NO_COLOR) return false;
  if (options.env.FORCE_COLOR && options.env.FORCE_COLOR !== '0') return true;
  return Boolean(options.isTTY) && options.env.TERM !== 'dumb';
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** `host:port`, with an IPv6 address in brackets (as in a URL). */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Pipeline order of the stages: the terminal's stage summaries and the web view's bars list them so. */
export const STAGE_ORDER: readonly StageName[] = ['compile', 'build', 'push', 'sync', 'restart', 'render', 'apply', 'prune', 'status', 'hook', 'delete'];
