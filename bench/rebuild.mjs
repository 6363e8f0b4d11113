#!/usr/bin/env node
/**
 * `devloop dev` on the real cluster (issue 11), the example project (devloop.yaml + examples/hello):
 *  (a) rebuild path: save a one-line change to the Go server → the new response through devloop's own
 *      forward (fresh connections every 50 ms once devloop applies), with the iteration's stage breakdown and devloop's own CPU; the Go server built
 *      daemonlessly (the same files as an `oci` artifact), then by its Dockerfile; and the manual flow
 *      (bench/manual-flow.mjs) measured in the same run: ratios, target ≤ 0.8×;
 *  (b) sync path: a static file of the busybox httpd artifact (quote: www/** synced to /www) saved →
 *      served through the forward, p50 over several saves, target ≤ 250 ms.
 * Each devloop save is followed by one manual-flow run, so both see the same load on a shared machine.
 *   node bench/rebuild.mjs     env: BENCH_SAVES (3), BENCH_SYNCS (10), BENCH_BUILDERS (oci,docker)
 * Needs kubectl, dockerd, go and the cluster of ../shared/k8s (else: skipped, one line). Bounded: a
 * watchdog; deletes its namespaces, temp folder and local images.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchEnv, median, requireDist, startWatchdog, summarize } from './_support.mjs';
import { benchProject, breakdown, clusterOrSkip, runCleanups, startDev, untilServed } from './_cluster.mjs';
import { describeManualRun, fmtMs, prepareManualFlow, summarizeManualFlow } from './manual-flow.mjs';

const SAVES = Number(process.env.BENCH_SAVES ?? 3);
const SYNCS = Number(process.env.BENCH_SYNCS ?? 10);
/**
 * Poll intervals. Each poll is a new connection, hence a new port-forward stream (a WebSocket with its
 * TLS handshake to the API server): polling faster would mostly measure the CPU the polling takes from
 * the compiler beside it. The manual flow's curl polls at the same rate.
 */
const POLL_MS = 50;
const SYNC_POLL_MS = 20;
/** Which builds of the Go server to measure: the daemonless one (the example's files as an `oci` artifact) and the Dockerfile. */
const BUILDERS = (process.env.BENCH_BUILDERS ?? 'oci,docker').split(',');

requireDist('rebuild');
const kubeconfig = await clusterOrSkip('rebuild');
const cleanups = [];
const cleanup = () => runCleanups(cleanups);
const stopWatchdog = startWatchdog('rebuild', 12, cleanup);

try {
  const manual = await prepareManualFlow({ kubeconfig });
  cleanups.push(manual.dispose);
  const results = [];
  for (const builder of BUILDERS) {
    console.log(`--- devloop dev, the Go server built by the ${builder === 'oci' ? 'daemonless oci builder' : 'docker builder (its Dockerfile)'}; each save followed by one manual flow run`);
    results.push({ builder, ...(await measureDev(builder, manual)) });
  }
  for (const { builder, median: ours, served, manualRuns } of results) {
    const flow = summarizeManualFlow(manualRuns);
    // Each save and the manual run after it share the machine's load: their ratios show the spread.
    const paired = served.map((ms, i) => ms / manualRuns[i].total);
    console.log(
      `(a) rebuild path (${builder} builder): devloop dev save → new response ${fmtMs(ours)} vs manual flow ${fmtMs(flow.median)} (medians): ratio ${(ours / flow.median).toFixed(2)}× (target ≤ 0.80×); ` +
        `per save ${paired.map((r) => `${r.toFixed(2)}×`).join(', ')}`,
    );
  }
} finally {
  await cleanup();
  stopWatchdog();
}

async function measureDev(builder, manual) {
  const { dir, ns, project } = await benchProject(kubeconfig, 'rebuild', cleanups, { builder });
  const dev = startDev(dir, ['dev', '-n', ns.namespace, '-o', 'json', '--debounce', '50'], benchEnv({ ...project.env, KUBECONFIG: kubeconfig }));
  cleanups.push(() => dev.stop());

  const first = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 300_000);
  if (first.status !== 'ok') throw new Error(`first iteration: ${first.status} ${first.reason ?? ''}\n${dev.stderr()}`);
  console.log(`startup (build both images + deploy + forwards): ${fmtMs(first.durationMs)} — ${breakdown(first.stages)}`);

  const mainGo = join(dir, 'examples', 'hello', 'hello', 'main.go');
  const source = await readFile(mainGo, 'utf8');
  const served = [];
  const manualRuns = [];
  /** Per save, the critical path from the save to the new response, in the manual flow's steps. */
  const parts = [];
  for (let i = 1; i <= SAVES; i++) {
    const from = dev.events.length;
    const greeting = `Hello from devloop dev ${i} ${Date.now()}`;
    const cpuBefore = dev.cpuMs();
    const saved = Date.now();
    const savedPerf = performance.now();
    await writeFile(mainGo, source.replace(/const greeting = "[^"]*"/, `const greeting = "${greeting}"`));
    // The new version cannot answer before it is applied: polling from the save would only open ~20
    // port-forward streams a second (TLS + WebSocket in devloop, the API server and the kubelet) beside
    // the compiler and docker, CPU the manual flow's curl (started after its rollout) does not take.
    const deploying = await dev.waitFor((e) => (e.type === 'stage' && e.stage === 'apply' && e.status === 'start') || (e.type === 'iteration' && e.status !== 'start' && e.status !== 'ok'), 180_000, from);
    if (deploying.type === 'iteration') throw new Error(`save ${i}: iteration ${deploying.status} before deploying: ${deploying.reason ?? ''}\n${dev.stderr()}`);
    await untilServed(project.helloPort, '/', (body) => body.includes(greeting), 180_000, POLL_MS);
    const ms = performance.now() - savedPerf;
    served.push(ms);
    const done = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 120_000, from);
    const cpu = dev.cpuMs() - cpuBefore;
    const start = dev.events.slice(from).find((e) => e.type === 'iteration' && e.status === 'start');
    const switched = dev.events.slice(from).find((e) => e.type === 'forward' && e.status === 'ready');
    const stageSum = done.stages.reduce((sum, s) => sum + s.durationMs, 0);
    console.log(
      `(a) save ${i}: new response after ${fmtMs(ms)}; save → iteration start ${fmtMs(Date.parse(start.time) - saved)} (50 ms debounce); ` +
        `iteration ${done.status} in ${fmtMs(done.durationMs)} = ${breakdown(done.stages)} + ${fmtMs(done.durationMs - stageSum)} between stages; ` +
        `forward on the new pod ${switched ? `${fmtMs(Date.parse(switched.time) - saved)} after the save` : '(no switch event)'}` +
        (Number.isNaN(cpu) ? '' : `; devloop's own CPU ${fmtMs(cpu)}`),
    );
    const applied = dev.events.slice(from).find((e) => e.type === 'stage' && e.stage === 'apply' && e.status === 'end');
    // Only the Go server rebuilds: its stages are the iteration's.
    const stageOf = (name) => done.stages.filter((s) => s.stage === name).reduce((sum, s) => sum + s.durationMs, 0);
    const atStart = Date.parse(start.time) - saved;
    const pipeline = stageOf('compile') + stageOf('build') + stageOf('push');
    const appliedAt = applied ? Date.parse(applied.time) - saved : NaN;
    const switchedAt = switched ? Date.parse(switched.time) - saved : NaN;
    parts.push({
      'save → start': atStart,
      compile: stageOf('compile'),
      build: stageOf('build'),
      push: stageOf('push'),
      'render + apply': appliedAt - atStart - pipeline,
      'applied → pod Ready': switchedAt - appliedAt,
      'Ready → response': ms - switchedAt,
    });
    manualRuns.push(await manual.iterate());
    console.log(`    manual flow: ${describeManualRun(manualRuns.at(-1))}`);
  }
  const flow = summarizeManualFlow(manualRuns);
  const med = (key) => median(parts.map((p) => p[key]).filter((v) => !Number.isNaN(v)));
  const pairs = [
    ['save → start', ['edit YAML']],
    ['compile', ['go build']],
    ['build', ['docker build']],
    ['push', ['docker push']],
    ['render + apply', ['kubectl apply']],
    ['applied → pod Ready', ['rollout status']],
    ['Ready → response', ['port-forward + curl']],
  ];
  console.log(
    `(a) where the time goes, medians, devloop vs manual: ` +
      pairs.map(([ours, theirs]) => `${ours} ${fmtMs(med(ours))} vs ${theirs.join(' + ')} ${fmtMs(theirs.reduce((sum, t) => sum + flow.steps[t], 0))}`).join(' · '),
  );

  const index = join(dir, 'examples', 'hello', 'quote', 'www', 'index.html');
  const syncs = [];
  for (let i = 1; i <= (builder === BUILDERS[0] ? SYNCS : 0); i++) {
    const text = `synced ${i} ${Date.now()}\n`;
    const from = dev.events.length;
    await writeFile(index, text);
    syncs.push(await untilServed(project.quotePort, '/index.html', (body) => body === text, 30_000, SYNC_POLL_MS));
    await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 30_000, from);
    if (dev.events.slice(from).some((e) => e.type === 'stage' && e.stage === 'build')) throw new Error('a synced file started an image build');
  }
  await dev.stop(); // the next session must not share the machine with this one
  await ns.remove();
  if (syncs.length === 0) return { median: median(served), served, manualRuns };
  const s = summarize(syncs);
  console.log(`(b) synced static file → served: p50 ${fmtMs(s.median)}, p90 ${fmtMs(s.p90)}, min ${fmtMs(s.min)}, max ${fmtMs(s.max)} over ${SYNCS} saves (target p50 ≤ 250 ms: ${s.median <= 250 ? 'met' : 'NOT met'})`);
  return { median: median(served), served, manualRuns };
}
