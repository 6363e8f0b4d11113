#!/usr/bin/env node
/**
 * `devloop dev` benchmark (runs dist/: `npm run build` first). Prints:
 *  (a) save → new response through the forward, per run, with the iteration's stage breakdown and
 *      devloop's own overhead (iteration time minus its stages, plus save → iteration start);
 *  (b) synced file → served, p50 over several saves (target ≤ 400 ms);
 *  (c) a generated 100,000-file tree: watcher ready time (≤ 3 s), idle CPU (≤ 1 %) over a window,
 *      RSS (≤ 200 MB) — measured in a child process running only the watcher.
 * (a) and (b) need dockerd, docker-registry and Go: the fake API server runs real containers.
 *   node bench/dev.mjs [--skip-loop] [--skip-tree]   env: BENCH_SAVES (3), BENCH_SYNCS (10), BENCH_IDLE_S (60)
 * Bounded: a watchdog ends it after 15 minutes; temp folders, containers and processes are cleaned up.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileTestSupport, importDist, median, repoRoot, requireDist, startWatchdog, summarize } from './_support.mjs';

const args = process.argv.slice(2);
const SAVES = Number(process.env.BENCH_SAVES ?? 3);
const SYNCS = Number(process.env.BENCH_SYNCS ?? 10);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const FILES = 100_000;

if (args[0] === '--watcher-child') await watcherChild(args[1]);
else {
  requireDist('dev');
  startWatchdog('dev', 15);
  if (!args.includes('--skip-tree')) await benchTree();
  if (!args.includes('--skip-loop')) await benchLoop();
  process.exit(0);
}

// ---- (c) the watcher on a 100,000-file tree ----

async function benchTree() {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-bench-tree-'));
  try {
    const started = performance.now();
    for (let i = 0; i < FILES; i += 1000) {
      const folder = join(dir, 'app', 'src', `d${Math.floor(i / 10_000)}`, `s${Math.floor(i / 1000) % 10}`);
      await mkdir(folder, { recursive: true });
      await Promise.all(Array.from({ length: 1000 }, (_, j) => writeFile(join(folder, `f${i + j}.txt`), 'x')));
    }
    await mkdir(join(dir, 'app', 'node_modules', 'big'), { recursive: true });
    console.log(`(c) generated ${FILES} files in ${((performance.now() - started) / 1000).toFixed(1)} s; watching for ${IDLE_S} s idle…`);
    const out = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--watcher-child', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), (IDLE_S + 120) * 1000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`watcher child exited ${code}: ${text}`));
      });
    });
    const verdict = (ok) => (ok ? 'ok' : 'OVER TARGET');
    console.log(`(c) watcher ready: ${out.readyMs} ms for ${out.folders} folders (target ≤ 3000 ms: ${verdict(out.readyMs <= 3000)})`);
    console.log(`(c) idle CPU over ${IDLE_S} s: ${out.cpuPercent.toFixed(3)} % (target ≤ 1 %: ${verdict(out.cpuPercent <= 1)})`);
    console.log(`(c) RSS: ${out.rssMB} MB (target ≤ 200 MB: ${verdict(out.rssMB <= 200)}); a change seen after ${out.changeMs} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function watcherChild(dir) {
  const { startWatcher, watchScope } = await importDist('watch/index.js');
  const loaded = {
    file: join(dir, 'devloop.yaml'),
    dir,
    activeProfiles: [],
    config: {
      metadata: { name: 'bench' },
      build: { artifacts: [{ image: 'app', context: join(dir, 'app'), docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [] }] },
      manifests: ['k8s/*.yaml'],
    },
  };
  let seen;
  const started = performance.now();
  const watcher = startWatcher({
    scope: watchScope(loaded),
    trigger: 'notify',
    debounceMs: 100,
    intervalMs: 1000,
    run: async () => void seen?.(),
    onError: () => undefined,
  });
  await watcher.ready;
  const readyMs = Math.round(performance.now() - started);
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const cpu = process.cpuUsage(cpu0);
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
  const rssMB = Math.round(process.memoryUsage().rss / 1e6);
  const changed = new Promise((resolve) => (seen = resolve));
  const t1 = performance.now();
  await writeFile(join(dir, 'app/src/d5/s5/f55555.txt'), 'changed');
  await Promise.race([changed, new Promise((r) => setTimeout(r, 5000))]);
  const changeMs = Math.round(performance.now() - t1);
  const folders = watcher.watched();
  await watcher.close();
  process.stdout.write(JSON.stringify({ readyMs, folders, cpuPercent, rssMB, changeMs }));
  process.exit(0);
}

// ---- (a) and (b): the loop against the fake API server with real containers ----

async function benchLoop() {
  const out = await compileTestSupport('test/dev/harness.ts', 'dev', ['--rootDir', join(repoRoot, 'test')]);
  process.env.DEVLOOP_REPO_ROOT = repoRoot;
  const { makeProject, startDev, fetchUntil } = await import(pathToFileURL(join(out, 'dev/harness.js')).href);
  const { dockerAvailable } = await import(pathToFileURL(join(out, 'support/services.js')).href);
  if (!(await dockerAvailable())) {
    console.log('(a)/(b) skipped: dockerd is not available');
    return;
  }
  const project = await makeProject();
  const dev = startDev(project);
  try {
    const first = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 300_000);
    if (first.status !== 'ok') throw new Error(`initial iteration failed: ${first.reason}`);
    console.log(`startup (build all + deploy + forwards): ${fmt(first.durationMs)}  — ${breakdown(first.stages)}`);
    const url = `http://127.0.0.1:${project.helloPort}`;
    const main = join(project.dir, 'hello/main.go');
    let version = 1;

    for (let run = 1; run <= SAVES; run++) {
      const from = dev.events.length;
      const source = await readFile(main, 'utf8');
      const next = `Hello from devloop bench${++version}`;
      const saved = performance.now();
      const savedAt = Date.now();
      await writeFile(main, source.replace(/Hello from devloop [^"]*/, next));
      const body = await fetchUntil(url + '/', (b) => b.includes(next), 120_000);
      const served = performance.now() - saved;
      if (!body.includes(next)) throw new Error(`save ${run}: the new response never arrived (${body})`);
      const done = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 60_000, from);
      const start = dev.events.slice(from).find((e) => e.type === 'iteration' && e.status === 'start');
      const stageSum = done.stages.reduce((sum, s) => sum + s.durationMs, 0);
      const toStart = Date.parse(start.time) - savedAt;
      console.log(
        `(a) save ${run}: new response after ${fmt(served)}; iteration ${fmt(done.durationMs)} = ${breakdown(done.stages)}; ` +
          `devloop overhead ${fmt(done.durationMs - stageSum + toStart)} (save → iteration start ${fmt(toStart)} incl. 100 ms debounce, ` +
          `between stages ${fmt(done.durationMs - stageSum)})`,
      );
    }

    const syncTimes = [];
    const syncParts = [];
    for (let run = 1; run <= SYNCS; run++) {
      const from = dev.events.length;
      const text = `synced ${run} ${Date.now()}`;
      const saved = performance.now();
      await writeFile(join(project.dir, 'hello/public/index.html'), text);
      const savedAt = Date.now();
      const body = await fetchUntil(url + '/static/index.html', (b) => b === text, 30_000, 5);
      if (body !== text) throw new Error(`sync ${run}: content never served (${body})`);
      syncTimes.push(performance.now() - saved);
      const done = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 30_000, from);
      const start = dev.events.slice(from).find((e) => e.type === 'iteration' && e.status === 'start');
      syncParts.push({ toStart: Date.parse(start.time) - savedAt, iteration: done.durationMs, sync: done.stages.find((s) => s.stage === 'sync')?.durationMs ?? 0 });
      if (dev.events.slice(from).some((e) => e.type === 'stage' && e.stage === 'build')) throw new Error('a sync built an image');
    }
    console.log(
      `(b) medians: save → iteration start ${median(syncParts.map((p) => p.toStart))} ms (100 ms debounce), ` +
        `sync stage ${median(syncParts.map((p) => p.sync))} ms (pod list + exec tar through the API server and \`docker exec\`), ` +
        `iteration ${median(syncParts.map((p) => p.iteration))} ms`,
    );
    const { median: p50, min, max } = summarize(syncTimes);
    console.log(`(b) synced file → served: p50 ${Math.round(p50)} ms, min ${Math.round(min)} ms, max ${Math.round(max)} ms over ${SYNCS} saves (target p50 ≤ 400 ms: ${p50 <= 400 ? 'ok' : 'OVER TARGET'})`);
  } finally {
    dev.child.kill('SIGINT');
    await Promise.race([dev.exited, new Promise((r) => setTimeout(r, 60_000))]);
    if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await project.dispose();
  }
}

function fmt(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

function breakdown(stages) {
  return stages.map((s) => `${s.stage} ${fmt(s.durationMs)}`).join(' · ');
}
