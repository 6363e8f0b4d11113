#!/usr/bin/env node
/**
 * Build-stage benchmark (runs dist/: `npm run build` first). Needs dockerd and docker-registry.
 *   node bench/build.mjs
 * Prints wall times of `devloop build` on the bundled example (cold devloop cache, warm no-op,
 * one-file change) and devloop's own overhead = wall time minus the time spent in child processes
 * (compile/build/push stage durations along the longest artifact chain), plus a no-op build of a
 * generated 1,000-file context (target ≤ 400 ms). Go's and Docker's own caches are left as they
 * are: "cold" means devloop's artifact cache is empty. Bounded: every command has a timeout.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchEnv, busyboxBaseImage, cli, copyExampleProject, median, requireDist, startRegistry, startWatchdog, timed } from './_support.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const cleanups = [];
requireDist('build');
const stopWatchdog = startWatchdog('build', 10);

/** The test run's registry when there is one (DEVLOOP_TEST_REGISTRY), else a private one. */
async function registry() {
  if (process.env.DEVLOOP_TEST_REGISTRY) return process.env.DEVLOOP_TEST_REGISTRY;
  const started = await startRegistry();
  cleanups.push(started.stop);
  return started.host;
}

async function devloopBuild(cwd, env) {
  const started = performance.now();
  const result = await execa('node', [cli, 'build', '-o', 'json'], { cwd, env, extendEnv: false, reject: false, timeout: 300_000 });
  const wallMs = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`devloop build failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  const events = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  // Child time per artifact (its stages run one after another); artifacts run concurrently.
  const perArtifact = new Map();
  for (const e of events) {
    if (e.type === 'stage' && e.status === 'end' && ['compile', 'build', 'push'].includes(e.stage)) {
      perArtifact.set(e.artifact, (perArtifact.get(e.artifact) ?? 0) + e.durationMs);
    }
  }
  const childMs = Math.max(0, ...perArtifact.values());
  const refs = events.filter((e) => e.type === 'artifact').map((e) => e.tag.split('@')[0]);
  return { wallMs, childMs, overheadMs: wallMs - childMs, ran: [...perArtifact.keys()].sort(), refs };
}

/** CPU seconds (user+sys) of one run, via /usr/bin/time when present: steadier than wall time on a busy machine. */
async function cpuMs(cwd, env, args) {
  if (!existsSync('/usr/bin/time')) return undefined;
  const result = await execa('/usr/bin/time', ['-f', 'CPU %U %S', 'node', cli, ...args], { cwd, env, extendEnv: false, reject: false, timeout: 120_000 });
  const match = /CPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
  return match ? (Number(match[1]) + Number(match[2])) * 1000 : undefined;
}

const ms = (x) => `${Math.round(x)} ms`;
function report(label, r) {
  console.log(`${label.padEnd(34)} wall ${ms(r.wallMs).padStart(9)}   child processes ${ms(r.childMs).padStart(9)}   devloop overhead ${ms(r.overheadMs).padStart(7)}   rebuilt: ${r.ran.join(', ') || '—'}`);
}

async function main() {
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${cpus().length} cores)`);
  const host = await registry();
  const base = await busyboxBaseImage(host);
  const env = benchEnv({ DEVLOOP_DEFAULT_REPO: `${host}/devloop-bench`, DEVLOOP_BASE_IMAGE: base });
  const images = new Set();

  // 1. The bundled example.
  const project = await mkdtemp(join(tmpdir(), 'devloop-bench-'));
  cleanups.push(() => rm(project, { recursive: true, force: true }));
  await copyExampleProject(project);

  const startup = [];
  for (let i = 0; i < RUNS; i++) startup.push(await timed(() => execa('node', [cli, '--version'], { timeout: 30_000 })));
  console.log(`node + devloop --version (floor)    wall ${ms(median(startup)).padStart(9)}`);

  const cold = await devloopBuild(project, env);
  cold.refs.forEach((r) => images.add(r));
  report('example: cold (empty .devloop)', cold);

  const warm = [];
  for (let i = 0; i < RUNS; i++) warm.push(await devloopBuild(project, env));
  const warmMedian = warm.sort((a, b) => a.wallMs - b.wallMs)[Math.floor(warm.length / 2)];
  report(`example: warm no-op (median of ${RUNS})`, warmMedian);

  await appendFile(join(project, 'examples/hello/quote/www/index.html'), `<!-- ${Date.now()} -->\n`);
  const oneFile = await devloopBuild(project, env);
  oneFile.refs.forEach((r) => images.add(r));
  report('example: one file changed (quote)', oneFile);

  await writeFile(join(project, 'examples/hello/hello/bench.go'), `package main\n\nconst benchStamp = ${Date.now()}\n`);
  const goChange = await devloopBuild(project, env);
  goChange.refs.forEach((r) => images.add(r));
  report('example: one Go file changed', goChange);

  // 2. A generated 1,000-file context.
  const many = await mkdtemp(join(tmpdir(), 'devloop-bench-many-'));
  cleanups.push(() => rm(many, { recursive: true, force: true }));
  await mkdir(join(many, 'app'));
  await writeFile(join(many, 'app', 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY www /www\n');
  for (let d = 0; d < 20; d++) {
    await mkdir(join(many, 'app', 'www', `d${d}`), { recursive: true });
    await Promise.all(Array.from({ length: 50 }, (_, f) => writeFile(join(many, 'app', 'www', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(20))));
  }
  await writeFile(
    join(many, 'devloop.yaml'),
    `apiVersion: devloop/v1\nkind: Config\nmetadata: {name: many}\nbuild:\n  defaultRepo: \${DEVLOOP_DEFAULT_REPO}\n  push: true\n  artifacts:\n    - image: many\n      context: app\n      docker:\n        buildArgs: {BASE: "\${DEVLOOP_BASE_IMAGE}"}\nmanifests: []\n`,
  );
  const manyCold = await devloopBuild(many, env);
  manyCold.refs.forEach((r) => images.add(r));
  report('1,000 files: cold', manyCold);
  const manyWarm = [];
  for (let i = 0; i < RUNS; i++) manyWarm.push((await devloopBuild(many, env)).wallMs);
  const manyMedian = median(manyWarm);
  console.log(`1,000 files: no-op (median of ${RUNS})  wall ${ms(manyMedian).padStart(9)}   target ≤ 400 ms: ${manyMedian <= 400 ? 'met' : 'MISSED'} (ratio ${(manyMedian / 400).toFixed(2)})`);
  const cpuVersion = await cpuMs(many, env, ['--version']);
  const cpuNoop = await cpuMs(many, env, ['build', '-o', 'json']);
  if (cpuVersion !== undefined && cpuNoop !== undefined) {
    console.log(`1,000 files: no-op CPU (user+sys)  ${ms(cpuNoop).padStart(9)}   node + devloop --version CPU ${ms(cpuVersion)}   devloop's own work ≈ ${ms(cpuNoop - cpuVersion)}`);
  }
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`ratios: warm no-op / cold = ${(warmMedian.wallMs / cold.wallMs).toFixed(3)}; one-file / cold = ${(oneFile.wallMs / cold.wallMs).toFixed(3)}; no-op over node startup = +${ms(warmMedian.wallMs - median(startup))}`);

  if (images.size) await execa('docker', ['rmi', '--force', ...images], { reject: false, timeout: 60_000 });
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  stopWatchdog();
}
