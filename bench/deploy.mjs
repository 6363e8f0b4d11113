#!/usr/bin/env node
// Benchmark: a no-op `devloop run` (everything cached, nothing changed) on the example project,
// wall time per run, against the in-repo fake API server (compiled to a cache folder first), a
// private docker-registry on 127.0.0.1 and dockerd for the one warm-up build. Target ≤ 1.5 s.
// Needs `npm run build` (runs dist/ through bin/devloop.js). Bounded: every step has a timeout;
// cleans up its registry, fake server and temp project.
//   node bench/deploy.mjs [--iterations 5]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  benchEnv,
  busyboxBaseImage,
  cli,
  copyExampleProject,
  importFakeKube,
  requireDist,
  run,
  startRegistry,
  startWatchdog,
  summarize,
  timed,
} from './_support.mjs';

const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1]) || 5;
const TARGET_MS = 1500;

requireDist('deploy');
const stopWatchdog = startWatchdog('deploy', 5);
const { startFakeKube } = await importFakeKube('deploy');

const work = await mkdtemp(join(tmpdir(), 'devloop-bench-deploy-'));
const project = join(work, 'project');
let registry;
let fake;

try {
  registry = await startRegistry();
  fake = await startFakeKube();
  const base = await busyboxBaseImage(registry.host);
  await copyExampleProject(project);
  const env = benchEnv({ KUBECONFIG: fake.kubeconfigPath, DEVLOOP_DEFAULT_REPO: registry.host, DEVLOOP_BASE_IMAGE: base, NO_COLOR: '1' });

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
  for (let i = 0; i < 3; i++) nodeStart.push(await timed(() => run(process.execPath, [cli, '--version'], { timeout: 30_000 })));
  const { median, min, max } = summarize(times);
  console.log(`no-op devloop run, ${iterations} runs: median ${median.toFixed(0)} ms, min ${min.toFixed(0)} ms, max ${max.toFixed(0)} ms`);
  console.log(`  (of which CLI start, \`devloop --version\`: ${Math.min(...nodeStart).toFixed(0)} ms)`);
  console.log(`  target ≤ ${TARGET_MS} ms: ${median <= TARGET_MS ? 'met' : 'MISSED'}`);
} catch (error) {
  console.error(`bench/deploy: ${error.message}`);
  process.exitCode = 1;
} finally {
  await fake?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
  stopWatchdog();
}

async function devloopRun(env) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'run', '--output', 'json'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
