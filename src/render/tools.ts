/**
 * The external renderers (kubectl/kustomize, helm): finding the program and running it once with a
 * bounded time. Finding is PATH lookup done here (not by the shell), so "not found" is known before
 * anything runs and the error can name what was looked for.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { DevloopError } from '../errors.js';
import { isWithin } from '../util/inside.js';
import { runStreaming } from '../util/process.js';

/** How long one `kustomize build` / `helm template` / `helm dependency build` may take. */
const RENDER_TOOL_TIMEOUT_MS = 120_000;

/** The executable `name` resolves to: a path (relative to `dir`) when it has a slash, else the first match on PATH. */
export function findExecutable(name: string, dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) {
    const path = isAbsolute(name) ? name : resolve(dir, name);
    return isExecutable(path) ? path : undefined;
  }
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const path = join(folder, name);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

/** Where the README's install step (and .ci/run) puts the Helm CLI from ../shared/helm. */
export function cachedHelmPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HOME || homedir(), '.cache', 'devloop-helm', 'helm');
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ToolRun {
  stdout: string;
  /** stderr lines, for error mapping. */
  stderr: string[];
  exitCode: number;
}

/** Runs a renderer; a start failure, a timeout or an abort becomes a DevloopError naming `what`. */
export async function runTool(file: string, args: string[], options: { cwd: string; signal?: AbortSignal; what: string }): Promise<ToolRun> {
  const result = await runStreaming({ file, args, cwd: options.cwd, signal: options.signal, timeoutMs: RENDER_TOOL_TIMEOUT_MS, keepLines: 50 });
  if (result.canceled) options.signal?.throwIfAborted();
  if (result.spawnErrorCode) {
    throw new DevloopError('RENDER_TOOL_NOT_FOUND', `${options.what}: cannot start ${file} (${result.spawnErrorCode})`, { hint: 'check that the program exists and is executable' });
  }
  if (result.timedOut) {
    throw new DevloopError('RENDER_TOOL_TIMEOUT', `${options.what}: no result after ${RENDER_TOOL_TIMEOUT_MS / 1000}s`, { hint: 'run the same command by hand to see where it hangs' });
  }
  return { stdout: result.stdout.join('\n'), stderr: result.stderr, exitCode: result.exitCode };
}

/** `path` relative to the config folder for messages (posix separators), or absolute when outside it. */
export function shownPath(path: string, configDir: string): string {
  if (!isWithin(configDir, path)) return path;
  return relative(configDir, path).split(sep).join(posix.sep) || '.';
}
