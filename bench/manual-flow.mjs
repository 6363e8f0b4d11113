#!/usr/bin/env node
/**
 * The manual flow a person scripts without devloop, on the real cluster (issue 11): after a one-line
 * change to the example's Go server (examples/hello/hello), timed per step:
 *   go build → docker build → docker push → edit the image in the YAML → kubectl apply →
 *   kubectl rollout status → kubectl port-forward (a new one: the old one's pod is gone) → curl until
 *   the new version answers.
 * The other benches import `measureManualFlow()` and print their ratio against it, measured in the same
 * run. Standalone:  node bench/manual-flow.mjs [--iterations 3]
 * Needs kubectl, dockerd, go and the cluster of ../shared/k8s (else: skipped, one line). Bounded: a
 * watchdog, every command with a timeout; deletes its namespace, temp folder and local images.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { freePort, median, run, startWatchdog, timed } from './_support.mjs';
import { benchProject, clusterOrSkip, fmtMs, getFresh, kubectl, runCleanups } from './_cluster.mjs';

export { fmtMs };

export const MANUAL_STEPS = ['go build', 'docker build', 'docker push', 'edit YAML', 'kubectl apply', 'rollout status', 'port-forward + curl'];

/**
 * Sets up the example in its own namespace and deploys it once through the manual flow (untimed: Go's
 * and Docker's caches warm up). `iterate()` runs the flow once more after a one-line change and resolves
 * with each step's time and the total; `dispose()` deletes the namespace, temp folder and images.
 */
export async function prepareManualFlow({ kubeconfig }) {
  const cleanups = [];
  const dispose = () => runCleanups(cleanups);
  try {
    const { dir, ns, project } = await benchProject(kubeconfig, 'manual', cleanups);
    const app = join(dir, 'examples', 'hello', 'hello');
    const manifest = join(dir, 'examples', 'hello', 'k8s', 'hello.yaml');
    const template = await readFile(manifest, 'utf8');
    const mainGo = join(app, 'main.go');
    const source = await readFile(mainGo, 'utf8');
    // The compile step of the example's devloop.yaml, as a person would copy it into a script.
    const { compile } = parseYaml(await readFile(join(dir, 'devloop.yaml'), 'utf8')).build.artifacts.find((a) => a.image === 'hello');
    const goEnv = { ...process.env, ...compile.env };
    const image = (tag) => `${project.repo}/hello-manual:${tag}`;

    const steps = {
      'go build': () => run(compile.command[0], compile.command.slice(1), { cwd: app, env: goEnv, timeout: 180_000 }),
      'docker build': (tag) => run('docker', ['build', '-q', '--build-arg', `BASE=${project.base}`, '-t', image(tag), app], { timeout: 180_000 }),
      'docker push': (tag) => run('docker', ['push', '-q', image(tag)], { timeout: 180_000 }),
      'edit YAML': (tag) => writeFile(manifest, template.replace('image: hello', `image: ${image(tag)}`)),
      'kubectl apply': () => kubectl(kubeconfig, ['apply', '-n', ns.namespace, '-f', manifest]),
      'rollout status': () => kubectl(kubeconfig, ['rollout', 'status', '-n', ns.namespace, 'deployment/hello', '--timeout=180s'], 200_000),
      'port-forward + curl': (_tag, greeting) => portForwardUntil(kubeconfig, ns.namespace, greeting),
    };
    let n = 0;
    const iterate = async () => {
      const tag = `i${n++}`;
      const greeting = `Hello from the manual flow ${tag} ${Date.now()}`;
      await writeFile(mainGo, source.replace(/const greeting = "[^"]*"/, `const greeting = "${greeting}"`)); // the save
      const times = {};
      for (const name of MANUAL_STEPS) times[name] = await timed(() => steps[name](tag, greeting));
      return { steps: times, total: Object.values(times).reduce((a, b) => a + b, 0) };
    };
    await iterate();
    return { iterate, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Medians of manual-flow runs: the total and each step. */
export function summarizeManualFlow(runs) {
  return {
    runs,
    median: median(runs.map((r) => r.total)),
    steps: Object.fromEntries(MANUAL_STEPS.map((s) => [s, median(runs.map((r) => r.steps[s]))])),
  };
}

/** One line: the total and each step. */
export function describeManualRun(run) {
  return `${fmtMs(run.total)} = ${MANUAL_STEPS.map((s) => `${s} ${fmtMs(run.steps[s])}`).join(' · ')}`;
}

/**
 * The manual flow, `iterations` times after a first untimed deploy, then cleaned up: every run's
 * per-step times and the medians ({runs, median, steps}). `kubeconfig` defaults to the one
 * clusterOrSkip finds (which exits 0 with one line when there is none). Runs interleaved with another
 * measurement (so both see the same machine load) use prepareManualFlow() instead.
 */
export async function measureManualFlow({ kubeconfig, iterations = 3, log = () => {} } = {}) {
  kubeconfig ??= await clusterOrSkip('manual-flow');
  const flow = await prepareManualFlow({ kubeconfig });
  try {
    const runs = [];
    for (let i = 1; i <= iterations; i++) {
      runs.push(await flow.iterate());
      log(`manual flow ${i}: ${describeManualRun(runs.at(-1))}`);
    }
    return summarizeManualFlow(runs);
  } finally {
    await flow.dispose();
  }
}

/**
 * `kubectl port-forward svc/hello` on a free port, then GET / on fresh connections until the greeting
 * answers. kubectl picks one pod when it starts; if that is an old one still terminating, a person starts
 * the port-forward again: so does this, after 3 s of old answers.
 */
async function portForwardUntil(kubeconfig, namespace, greeting) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'port-forward', '-n', namespace, 'svc/hello', `${port}:80`], { stdio: 'ignore' });
    const deadline = performance.now() + 3_000 + (attempt === 0 ? 10_000 : 0);
    try {
      while (performance.now() < deadline && child.exitCode === null) {
        const answer = await getFresh(port, '/').catch(() => undefined);
        if (answer?.status === 200 && answer.body.includes(greeting)) return;
        await new Promise((r) => setTimeout(r, 50)); // as bench/rebuild.mjs polls devloop's forward
      }
    } finally {
      child.kill();
    }
  }
  throw new Error('kubectl port-forward never served the new version');
}


if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1]) || 3;
  const kubeconfig = await clusterOrSkip('manual-flow');
  const stop = startWatchdog('manual-flow', 8);
  const result = await measureManualFlow({ kubeconfig, iterations, log: console.log });
  console.log(`manual flow, median of ${iterations}: ${fmtMs(result.median)} = ${MANUAL_STEPS.map((s) => `${s} ${fmtMs(result.steps[s])}`).join(' · ')}`);
  stop();
}
