#!/usr/bin/env node
/**
 * Live update on the real cluster (issue 11): `devloop dev` on the bundled example with a
 * `restart: true` sync rule for the hello binary; per save of a one-line change to
 * examples/hello/hello/main.go, the time from the save until the new greeting comes back through the
 * forward (GET / on a fresh connection every 10 ms), with the iteration's stages (compile, sync,
 * restart) and what is left (watcher + debounce before the iteration, the answer after it).
 * If bench/manual-flow.mjs is there (the manual flow: go build, docker build, push, edit YAML, apply,
 * rollout, port-forward, curl), it runs in the same process afterwards and the ratio is printed
 * (target ≤ 0.3×).
 *   node bench/live-update.mjs      env: BENCH_SAVES (5), BENCH_KUBECONFIG / KUBECONFIG, BENCH_REGISTRY
 * Needs kubectl, dockerd, go and a cluster pulling from the registry (default: ../shared/k8s and
 * 127.0.0.1:5000); else it says why it is skipped. Bounded: a watchdog; deletes its namespace,
 * temp folder and images.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { benchEnv, busyboxBaseImage, cli, copyExampleProject, freePort, median, repoRoot, requireDist, run, sleep, startWatchdog } from './_support.mjs';

const SAVES = Number(process.env.BENCH_SAVES ?? 5);

requireDist('live-update');
const kubeconfig = await clusterOrSkip();
const registry = process.env.BENCH_REGISTRY || process.env.DEVLOOP_TEST_REGISTRY || '127.0.0.1:5000';
const namespace = `bench-live-${randomBytes(3).toString('hex')}`;
const repo = `${registry}/bench-live-${randomBytes(3).toString('hex')}`;
const dir = await mkdtemp(join(tmpdir(), 'devloop-bench-live-'));
let dev;
const cleanup = async () => {
  if (dev && dev.exitCode === null) {
    dev.kill('SIGINT');
    await new Promise((resolve) => {
      const timer = setTimeout(() => (dev.kill('SIGKILL'), resolve()), 30_000);
      dev.once('exit', () => (clearTimeout(timer), resolve()));
    });
  }
  await run('kubectl', ['--kubeconfig', kubeconfig, 'delete', 'namespace', namespace, '--wait=false'], { timeout: 30_000 }).catch(() => {});
  const images = await run('docker', ['images', '-q', '--filter', `reference=${repo}/*`]).catch(() => ({ stdout: '' }));
  const ids = [...new Set(images.stdout.split('\n').filter(Boolean))];
  if (ids.length) await run('docker', ['rmi', '--force', ...ids], { timeout: 60_000 }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
};
startWatchdog('live-update', 12, cleanup);

try {
  await main();
} finally {
  await cleanup();
}
process.exit(0);

async function main() {
  const base = await baseImage();
  await copyExampleProject(dir);
  const helloPort = await freePort();
  const quotePort = await freePort();
  // The bundled config, with a restart rule for the compiled binary and free local ports.
  const config = (await readFile(join(dir, 'devloop.yaml'), 'utf8'))
    .replace('        - {src: "public/**", dest: /app/public}\n', '        - {src: "public/**", dest: /app/public}\n        - {src: bin/hello, dest: /app, restart: true}\n')
    .replace('localPort: 8080}', `localPort: ${helloPort}}`)
    .replace('localPort: 8081}', `localPort: ${quotePort}}`);
  if (!config.includes('restart: true')) throw new Error('bench/live-update: the example config changed; cannot add the restart rule');
  await writeFile(join(dir, 'devloop.yaml'), config);
  // Only what the Dockerfile copies is in the image: main.go reaches the containers as the compiled binary.
  await writeFile(join(dir, 'examples', 'hello', 'hello', '.dockerignore'), '*\n!bin/hello\n!public\n');
  await run('kubectl', ['--kubeconfig', kubeconfig, 'create', 'namespace', namespace], { timeout: 30_000 });

  const env = benchEnv({ KUBECONFIG: kubeconfig, DEVLOOP_DEFAULT_REPO: repo, DEVLOOP_BASE_IMAGE: base });
  dev = spawn(process.execPath, [cli, 'dev', '-n', namespace, '-o', 'json'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events = [];
  let rest = '';
  dev.stdout.setEncoding('utf8');
  dev.stdout.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      try {
        events.push({ ...JSON.parse(line), seen: performance.now() });
      } catch {
        // not an event
      }
    }
  });
  let stderr = '';
  dev.stderr.on('data', (d) => (stderr += d));
  const waitFor = async (predicate, timeoutMs, from = 0) => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = events.slice(from).find(predicate);
      if (found) return found;
      if (dev.exitCode !== null || performance.now() > deadline) {
        throw new Error(`bench/live-update: no awaited event (devloop ${dev.exitCode === null ? 'still running' : `exited ${dev.exitCode}`}); last: ${JSON.stringify(events.slice(-5))} ${stderr.slice(-500)}`);
      }
      await sleep(10);
    }
  };
  await waitFor((e) => e.type === 'iteration' && e.n === 1 && e.status !== 'start', 300_000);
  const first = events.find((e) => e.type === 'iteration' && e.n === 1 && e.status !== 'start');
  if (first.status !== 'ok') throw new Error(`bench/live-update: the first iteration failed: ${first.reason}`);
  const warned = events.find((e) => e.type === 'notice' && /cannot live-update/.test(e.message));
  if (warned) throw new Error(`bench/live-update: ${warned.message}`);

  const mainGo = join(dir, 'examples', 'hello', 'hello', 'main.go');
  const source = await readFile(mainGo, 'utf8');
  const runs = [];
  for (let i = 1; i <= SAVES; i++) {
    const greeting = `Hello from a live update ${i} ${Date.now()}`;
    const from = events.length;
    const saved = performance.now();
    await writeFile(mainGo, source.replace(/const greeting = "[^"]*"/, `const greeting = "${greeting}"`));
    for (;;) {
      const answer = await getFresh(helloPort, '/').catch(() => undefined);
      if (answer?.body.includes(greeting)) break;
      if (performance.now() - saved > 60_000) throw new Error(`bench/live-update: save ${i} was never served`);
      await sleep(10);
    }
    const served = performance.now() - saved;
    const end = await waitFor((e) => e.type === 'iteration' && e.status !== 'start' && e.n > 1, 60_000, from);
    const start = events.slice(from).find((e) => e.type === 'iteration' && e.status === 'start');
    if (end.status !== 'ok' || !/^live update/.test(end.reason)) throw new Error(`bench/live-update: save ${i} was not a live update: ${end.status} ${end.reason}`);
    const stages = Object.fromEntries(end.stages.map((s) => [s.stage, s.durationMs]));
    runs.push({ served, iteration: end.durationMs, before: start.seen - saved, stages });
    console.log(
      `save ${i}: served after ${fmt(served)} · before the iteration ${fmt(start.seen - saved)} (watcher + debounce) · iteration ${fmt(end.durationMs)} = ${Object.entries(stages)
        .map(([s, ms]) => `${s} ${fmt(ms)}`)
        .join(' · ')}`,
    );
  }
  const live = median(runs.map((r) => r.served));
  const stageNames = [...new Set(runs.flatMap((r) => Object.keys(r.stages)))];
  console.log(
    `live update, save → new response through the forward: median ${fmt(live)} over ${SAVES} saves (${stageNames
      .map((s) => `${s} ${fmt(median(runs.map((r) => r.stages[s] ?? 0)))}`)
      .join(' · ')} · before the iteration ${fmt(median(runs.map((r) => r.before)))})`,
  );
  dev.kill('SIGINT');

  const manualFlow = join(repoRoot, 'bench', 'manual-flow.mjs');
  if (!existsSync(manualFlow)) {
    console.log('manual flow: bench/manual-flow.mjs is not here; no ratio');
    return;
  }
  const { measureManualFlow } = await import(pathToFileURL(manualFlow).href);
  const manual = await measureManualFlow({ kubeconfig, iterations: 3, log: console.log });
  const ratio = live / manual.median;
  console.log(`live update vs the manual flow: ${fmt(live)} / ${fmt(manual.median)} = ${ratio.toFixed(2)}× (target ≤ 0.30×) ${ratio <= 0.3 ? 'ok' : 'MISSED'}`);
}

/** The shared busybox base when the registry has it, else one made and pushed now. */
async function baseImage() {
  const shared = `${registry}/devloop-test/busybox:1`;
  const present = await fetch(`http://${registry}/v2/devloop-test/busybox/manifests/1`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  }).catch(() => undefined);
  return present?.ok ? shared : busyboxBaseImage(registry);
}

/** The cluster's kubeconfig when its API answers and kubectl, docker and go are here; else one line and exit 0. */
async function clusterOrSkip() {
  const kubeconfig = [process.env.BENCH_KUBECONFIG, process.env.KUBECONFIG, '/tmp/devloop-k8s/admin.kubeconfig'].filter(Boolean).find((f) => existsSync(f));
  const skip = (why) => {
    console.log(`bench/live-update: skipped (${why})`);
    process.exit(0);
  };
  if (!kubeconfig) skip('no cluster: set BENCH_KUBECONFIG or KUBECONFIG, or start ../shared/k8s');
  await run('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { timeout: 10_000 }).catch((e) => skip(e.code === 'ENOENT' ? 'kubectl is not installed' : 'the cluster does not answer'));
  await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).catch(() => skip('dockerd is not running'));
  await run('go', ['version'], { timeout: 10_000 }).catch(() => skip('go is not installed'));
  return kubeconfig;
}

/** GET on a new connection (a kept-alive one would hide what a fresh client sees). */
function getFresh(port, path, timeoutMs = 2_000) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function fmt(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
