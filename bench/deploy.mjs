#!/usr/bin/env node
// Benchmark: a no-op `devloop run` (everything cached, nothing changed) on the example project,
// wall time per run, against the in-repo fake API server (compiled to a cache folder first), a
// private docker-registry on 127.0.0.1 and dockerd for the one warm-up build. Target ≤ 1.5 s.
// Needs `npm run build` (runs dist/ through bin/devloop.js). Bounded: every step has a timeout;
// cleans up its registry, fake server and temp project.
//   node bench/deploy.mjs [--iterations 5]
import { spawn, execFile } from 'node:child_process';
import { cp, mkdtemp, mkdir, writeFile, rm, copyFile, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1]) || 5;
const TARGET_MS = 1500;

const watchdog = setTimeout(() => {
  console.error('bench/deploy: gave up after 5 minutes');
  process.exit(1);
}, 5 * 60_000);
watchdog.unref();

// The fake API server is TypeScript test support: compile it once next to node_modules.
const fakeOut = join(root, 'node_modules', '.cache', 'devloop-bench', 'fake-kube');
await run(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), join(root, 'test/support/fake-kube/index.ts'), '--outDir', fakeOut,
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--noCheck'],
  { timeout: 120_000 },
).catch((error) => {
  console.error(`bench/deploy: cannot compile the fake API server: ${error.stdout || error.message}`);
  process.exit(1);
});
const { startFakeKube } = await import(join(fakeOut, 'index.js'));

const work = await mkdtemp(join(tmpdir(), 'devloop-bench-deploy-'));
const port = await freePort();
const registryHost = `127.0.0.1:${port}`;
await writeFile(
  join(work, 'registry.yml'),
  `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${work}/registry}}\nhttp: {addr: ${registryHost}}\n`,
);
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
const fake = await startFakeKube();
const project = join(work, 'project');

try {
  await waitForRegistry();
  const base = await busyboxBase();
  await cp(join(root, 'devloop.yaml'), join(project, 'devloop.yaml'));
  await cp(join(root, 'examples', 'hello'), join(project, 'examples', 'hello'), { recursive: true, filter: (s) => !/[/\\](bin|\.devloop)$/.test(s) });
  const env = { ...process.env, KUBECONFIG: fake.kubeconfigPath, DEVLOOP_DEFAULT_REPO: registryHost, DEVLOOP_BASE_IMAGE: base, NO_COLOR: '1' };
  delete env.CI;

  const warm = await devloopRun(env);
  if (warm.code !== 0) throw new Error(`warm-up run failed (exit ${warm.code}):\n${warm.stderr}`);
  console.log(`warm-up run (builds, pushes, deploys): ${warm.ms.toFixed(0)} ms`);

  const times = [];
  for (let i = 0; i < iterations; i++) {
    const result = await devloopRun(env);
    if (result.code !== 0) throw new Error(`no-op run ${i + 1} failed (exit ${result.code}):\n${result.stderr}`);
    times.push(result.ms);
    const stages = (result.last?.stages ?? []).map((st) => `${st.stage} ${st.durationMs}`).join(', ');
    console.log(`  run ${i + 1}: ${result.ms.toFixed(0)} ms wall, iteration ${result.last?.durationMs} ms (${stages})`);
  }
  const nodeStart = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await run(process.execPath, [join(root, 'bin', 'devloop.js'), '--version'], { timeout: 30_000 });
    nodeStart.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`no-op devloop run, ${iterations} runs: median ${median.toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms`);
  console.log(`  (of which CLI start, \`devloop --version\`: ${Math.min(...nodeStart).toFixed(0)} ms)`);
  console.log(`  target ≤ ${TARGET_MS} ms: ${median <= TARGET_MS ? 'met' : 'MISSED'}`);
} catch (error) {
  console.error(`bench/deploy: ${error.message}`);
  process.exitCode = 1;
} finally {
  await fake.stop();
  registry.kill();
  await rm(work, { recursive: true, force: true });
  clearTimeout(watchdog);
}

async function devloopRun(env) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'devloop.js'), 'run', '--output', 'json'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      resolve({ code: code ?? 1, ms: performance.now() - started, stderr: stderr + stdout.slice(-2000), last: events.at(-1), events });
    });
  });
}

async function busyboxBase() {
  const ref = `${registryHost}/devloop-bench/busybox:1`;
  const rootfs = join(work, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const applet of ['sh', 'echo', 'cat', 'tar', 'ls', 'httpd', 'sleep', 'env']) await symlink('busybox', join(rootfs, 'bin', applet));
  await run('sh', ['-c', 'tar -C "$1" --numeric-owner --owner=0 --group=0 -c . | docker import -c "ENV PATH=/bin" - "$2"', 'sh', rootfs, ref], { timeout: 120_000 });
  await run('docker', ['push', ref], { timeout: 120_000 });
  return ref;
}

async function waitForRegistry() {
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://${registryHost}/v2/`);
      if (response.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
