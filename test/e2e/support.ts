/** Helpers for the end-to-end CLI tests; running the CLI itself is test/support/cli.ts. */
import { execa } from 'execa';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/cli.js';
import { dockerAvailable, registryBinaryAvailable, servicesRequired } from '../support/services.js';

export { CLI, ROOT, childEnv, devloop, killAll, startDevloop, type CliEvent, type CliRun, type RunningCli } from '../support/cli.js';

/** A temp folder; `remove()` deletes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies a folder of the repository, leaving out compile outputs and devloop state (a fresh clone has neither). */
export async function copyFromRepo(relPath: string, to: string): Promise<void> {
  await cp(join(ROOT, relPath), to, { recursive: true, filter: (source) => !/[/\\](bin|\.devloop)$/.test(source) });
}

/** True when a TCP connection to 127.0.0.1:port is refused (nothing listens). */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolveClosed) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(5_000);
    socket.once('connect', () => {
      socket.destroy();
      resolveClosed(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolveClosed(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolveClosed(error.code === 'ECONNREFUSED'));
  });
}

/** Whether `go` runs (the examples compile Go). */
export async function goAvailable(): Promise<boolean> {
  return (await execa('go', ['version'], { reject: false, timeout: 15_000 })).exitCode === 0;
}

/**
 * Whether the services a test file needs are here. Without them the file is skipped, unless
 * DEVLOOP_TEST_REQUIRE_SERVICES=1 (CI): then this throws and the file fails.
 */
export async function servicesPresent(needs: { docker: boolean; go?: boolean }): Promise<boolean> {
  const missing: string[] = [];
  if (needs.docker && !(await dockerAvailable().catch(() => false))) missing.push('dockerd (`docker info` fails)');
  if (!registryBinaryAvailable()) missing.push('a registry (DEVLOOP_TEST_REGISTRY or /usr/bin/docker-registry)');
  if (needs.go !== false && !(await goAvailable())) missing.push('go');
  if (missing.length && servicesRequired) throw new Error(`DEVLOOP_TEST_REQUIRE_SERVICES=1 but missing: ${missing.join(', ')}`);
  return missing.length === 0;
}

/** Stack-trace lines ("    at fn (file:1:2)") anywhere in the text. */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/.test(line));
}
