// Shared by the bench/*.mjs scripts (files starting with `_` are not run by bench/run.mjs):
// paths, the watchdog, free loopback ports, a private docker-registry, a busybox base image,
// compiling TypeScript test support (the fake API server), the example project, statistics.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The CLI entry point; it runs dist/. */
export const cli = join(repoRoot, 'bin', 'devloop.js');

/** Imports a module of the built CLI, e.g. `importDist('watch/index.js')`. */
export function importDist(path) {
  return import(pathToFileURL(join(repoRoot, 'dist', path)).href);
}

/** Exits with a hint when dist/ has not been built. */
export function requireDist(bench) {
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'main.js'))) {
    console.error(`bench/${bench}: dist/ is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}

/**
 * Ends the process (exit 1) if the bench is still running after `minutes`; `beforeExit` may clean
 * up first. Returns a function that disarms it. The timer does not keep the process alive.
 */
export function startWatchdog(bench, minutes, beforeExit = async () => {}) {
  const timer = setTimeout(() => {
    console.error(`bench/${bench}: gave up after ${minutes} minutes`);
    void beforeExit()
      .catch(() => {})
      .then(() => process.exit(1));
  }, minutes * 60_000);
  timer.unref();
  return () => clearTimeout(timer);
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A private docker-registry on a free loopback port, its storage in a temp folder. Resolves once
 * it answers `/v2/` (or throws, after stopping it). `stop()` kills it and removes the folder.
 */
export async function startRegistry() {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-bench-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: ${host}}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const stop = async () => {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) return { host, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`docker-registry on ${host} did not start`);
}

/**
 * A busybox base image made locally (no internet registry is reachable here): a rootfs with the
 * static busybox and a few applet links, `docker import`ed and pushed. Returns the reference.
 */
export async function busyboxBaseImage(registryHost) {
  const ref = `${registryHost}/devloop-bench/busybox:1`;
  const rootfs = await mkdtemp(join(tmpdir(), 'devloop-bench-rootfs-'));
  try {
    await mkdir(join(rootfs, 'bin'));
    await mkdir(join(rootfs, 'tmp'));
    await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    for (const applet of ['sh', 'echo', 'cat', 'tar', 'ls', 'httpd', 'sleep', 'env']) await symlink('busybox', join(rootfs, 'bin', applet));
    await run('sh', ['-c', 'tar -C "$1" --numeric-owner --owner=0 --group=0 -c . | docker import -c "ENV PATH=/bin" - "$2"', 'sh', rootfs, ref], { timeout: 120_000 });
    await run('docker', ['push', ref], { timeout: 120_000 });
    return ref;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

/**
 * Compiles TypeScript test support (`entry`, relative to the repository) with the files it imports
 * into node_modules/.cache/devloop-bench/<cacheName>; returns that folder. Type checks are skipped.
 */
export async function compileTestSupport(entry, cacheName, extraArgs = []) {
  const outDir = join(repoRoot, 'node_modules', '.cache', 'devloop-bench', cacheName);
  await run(
    process.execPath,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), join(repoRoot, entry), '--outDir', outDir, ...extraArgs,
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--noCheck'],
    { timeout: 180_000 },
  );
  return outDir;
}

/** The in-repo fake API server's module (`startFakeKube`), compiled first; exits 1 when it cannot be. */
export async function importFakeKube(bench, cacheName = 'fake-kube') {
  let outDir;
  try {
    outDir = await compileTestSupport('test/support/fake-kube/index.ts', cacheName);
  } catch (error) {
    console.error(`bench/${bench}: cannot compile the fake API server: ${error.stdout || error.message}`);
    process.exit(1);
  }
  return import(pathToFileURL(join(outDir, 'index.js')).href);
}

/** Copies the bundled example (devloop.yaml and examples/hello, without compiled bin/ or .devloop/) to `dest`. */
export async function copyExampleProject(dest) {
  await cp(join(repoRoot, 'devloop.yaml'), join(dest, 'devloop.yaml'));
  await cp(join(repoRoot, 'examples', 'hello'), join(dest, 'examples', 'hello'), { recursive: true, filter: (s) => !/[/\\](bin|\.devloop)$/.test(s) });
}

/** The environment for devloop child processes: this one, without CI, plus `extra`. */
export function benchEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.CI;
  return env;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds `fn` took. */
export async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** The value at quantile `q` (0..1) of `values`: the sorted element at floor(q·n). Does not reorder `values`. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(values) {
  return quantile(values, 0.5);
}

/** median, p90, min and max of `values`. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0], max: sorted.at(-1) };
}
