#!/usr/bin/env node
/**
 * Live update on the real cluster (issue 11): `devloop dev` on the example project with a
 * `restart: true` sync rule for the Go server's binary (and a .dockerignore keeping main.go out of the
 * image, as in the Go starter). Per save of a one-line change to examples/hello/hello/main.go: the time
 * until the new greeting comes back through devloop's forward (fresh connections every 50 ms once the
 * restart starts), with the
 * iteration's stages (compile, sync, restart) and what is around them. Each save is followed by one
 * run of the manual flow (bench/manual-flow.mjs), so both see the same load: ratio, target ≤ 0.3×.
 *   node bench/live-update.mjs     env: BENCH_SAVES (5)
 * Needs kubectl, dockerd, go and the cluster of ../shared/k8s (else: skipped, one line). Bounded: a
 * watchdog; deletes its namespaces, temp folder and local images.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchEnv, median, requireDist, startWatchdog } from './_support.mjs';
import { benchProject, breakdown, clusterOrSkip, fmtMs, runCleanups, startDev, untilServed } from './_cluster.mjs';
import { describeManualRun, prepareManualFlow, summarizeManualFlow } from './manual-flow.mjs';

const SAVES = Number(process.env.BENCH_SAVES ?? 5);
/** As bench/rebuild.mjs: each poll is a new port-forward stream; the manual flow's curl polls at the same rate. */
const POLL_MS = 50;

requireDist('live-update');
const kubeconfig = await clusterOrSkip('live-update');
const cleanups = [];
const cleanup = () => runCleanups(cleanups);
const stopWatchdog = startWatchdog('live-update', 12, cleanup);

try {
  const manual = await prepareManualFlow({ kubeconfig });
  cleanups.push(manual.dispose);
  const { dir, ns, project } = await benchProject(kubeconfig, 'live', cleanups);
  // The binary the compile step writes is copied in and the server restarted; main.go stays out of the image.
  const config = join(dir, 'devloop.yaml');
  const rule = '        - {src: "public/**", dest: /app/public}\n';
  const text = await readFile(config, 'utf8');
  if (!text.includes(rule)) throw new Error('devloop.yaml: the hello artifact\'s sync rule changed; update bench/live-update.mjs');
  await writeFile(config, text.replace(rule, `${rule}        - {src: bin/hello, dest: /app, restart: true}\n`));
  await writeFile(join(dir, 'examples', 'hello', 'hello', '.dockerignore'), '*\n!bin/hello\n!public\n');

  const dev = startDev(dir, ['dev', '-n', ns.namespace, '-o', 'json'], benchEnv({ ...project.env, KUBECONFIG: kubeconfig }));
  cleanups.push(() => dev.stop());
  const first = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 300_000);
  if (first.status !== 'ok') throw new Error(`first iteration: ${first.status} ${first.reason ?? ''}\n${dev.stderr()}`);
  const refused = dev.events.find((e) => e.type === 'notice' && /cannot live-update/.test(e.message));
  if (refused) throw new Error(refused.message);
  console.log(`startup (build both images + deploy + forwards): ${fmtMs(first.durationMs)} — ${breakdown(first.stages)}`);

  const mainGo = join(dir, 'examples', 'hello', 'hello', 'main.go');
  const source = await readFile(mainGo, 'utf8');
  const served = [];
  const before = [];
  const stages = [];
  const manualRuns = [];
  for (let i = 1; i <= SAVES; i++) {
    const from = dev.events.length;
    const greeting = `Hello from a live update ${i} ${Date.now()}`;
    const saved = Date.now();
    const savedPerf = performance.now();
    await writeFile(mainGo, source.replace(/const greeting = "[^"]*"/, `const greeting = "${greeting}"`));
    // As bench/rebuild.mjs polls from the apply: the new version cannot answer before the restart
    // starts, and polling from the save would open ~20 port-forward streams a second beside the compiler.
    const restarting = await dev.waitFor((e) => (e.type === 'stage' && e.stage === 'restart' && e.status === 'start') || (e.type === 'iteration' && e.status !== 'start' && e.status !== 'ok'), 60_000, from);
    if (restarting.type === 'iteration') throw new Error(`save ${i}: iteration ${restarting.status} before the restart: ${restarting.reason ?? ''}\n${dev.stderr()}`);
    await untilServed(project.helloPort, '/', (body) => body.includes(greeting), 60_000, POLL_MS);
    const ms = performance.now() - savedPerf;
    const done = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 60_000, from);
    const start = dev.events.slice(from).find((e) => e.type === 'iteration' && e.status === 'start');
    if (done.status !== 'ok' || !/^live update/.test(done.reason)) throw new Error(`save ${i} was no live update: ${done.status} ${done.reason}`);
    if (dev.events.slice(from).some((e) => e.type === 'stage' && ['build', 'push', 'apply'].includes(e.stage))) throw new Error(`save ${i} built or applied`);
    served.push(ms);
    before.push(Date.parse(start.time) - saved);
    stages.push(done.stages);
    console.log(
      `save ${i}: new response after ${fmtMs(ms)}; save → iteration start ${fmtMs(before.at(-1))} (watcher + 100 ms debounce); ` +
        `iteration ${fmtMs(done.durationMs)} = ${breakdown(done.stages)}; the answer through the forward ${fmtMs(ms - before.at(-1) - done.durationMs)} after it`,
    );
    manualRuns.push(await manual.iterate());
    console.log(`    manual flow: ${describeManualRun(manualRuns.at(-1))}`);
  }
  const ours = median(served);
  const flow = summarizeManualFlow(manualRuns);
  const stage = (name) => median(stages.map((s) => s.find((x) => x.stage === name)?.durationMs ?? 0));
  console.log(
    `live update: save → new response ${fmtMs(ours)} (median of ${SAVES}: compile ${fmtMs(stage('compile'))} · sync ${fmtMs(stage('sync'))} · ` +
      `restart ${fmtMs(stage('restart'))} · before the iteration ${fmtMs(median(before))}) vs manual flow ${fmtMs(flow.median)}: ratio ${(ours / flow.median).toFixed(2)}× (target ≤ 0.30×)`,
  );
} finally {
  await cleanup();
  stopWatchdog();
}
