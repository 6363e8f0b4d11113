/** Runs the built CLI (dist/) in a copy of the example project against a fake API server. */
import { execa } from 'execa';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'devloop.js');

/** A temp folder holding devloop.yaml and examples/hello, like the repository root. */
export async function copyExampleProject(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-run-'));
  await cp(join(ROOT, 'devloop.yaml'), join(dir, 'devloop.yaml'));
  await cp(join(ROOT, 'examples', 'hello'), join(dir, 'examples', 'hello'), {
    recursive: true,
    filter: (source) => !/[/\\](bin|\.devloop)$/.test(source),
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface CliRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  events: { type: string; [key: string]: unknown }[];
  ms: number;
}

/** Runs `devloop args…` in `cwd`; CI and DEVLOOP_* from the outer env are not inherited unless given. */
export async function devloop(cwd: string, args: string[], env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<CliRun> {
  const clean: Record<string, string | undefined> = { ...process.env, CI: undefined, NO_COLOR: '1' };
  for (const key of Object.keys(clean)) if (key.startsWith('DEVLOOP_') && !key.startsWith('DEVLOOP_TEST_')) clean[key] = undefined;
  const started = performance.now();
  const result = await execa('node', [CLI, ...args], { cwd, env: { ...clean, ...env }, extendEnv: false, reject: false, timeout: timeoutMs });
  const events = args.includes('json')
    ? String(result.stdout)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { type: string })
    : [];
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), events, ms: performance.now() - started };
}
