import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'devloop.js');

/** CLI tests run against dist/ (`npm test` builds first); build once if it is missing. */
export async function ensureBuilt(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'main.js'))) {
    await execa('npm', ['run', 'build'], { cwd: ROOT, reject: false });
  }
}

/** Runs `devloop …` in `cwd` with a clean, loopback-only environment. */
export function devloop(args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  return execa('node', [BIN, ...args], {
    cwd,
    reject: false,
    timeout: 60_000,
    env: { NO_COLOR: '1', DEVLOOP_DEFAULT_REPO: undefined, CI: undefined, ...env },
    extendEnv: true,
  });
}
