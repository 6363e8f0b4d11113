// Shared by the real-cluster benches (bench/manual-flow.mjs, bench/rebuild.mjs, bench/live-update.mjs):
// finding the cluster (or skipping with one line), a namespace per bench, the example project set up
// for it, and HTTP on a fresh connection each time (a kept-alive one would stay on the old pod).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { busyboxBaseImage, cli, copyExampleProject, freePort, run } from './_support.mjs';

const exec = promisify(execFile);

/**
 * The real cluster's kubeconfig (BENCH_KUBECONFIG, else KUBECONFIG, else ../shared/k8s's
 * /tmp/devloop-k8s/admin.kubeconfig) when its API server answers and kubectl is there; else prints one
 * line saying why `bench` is skipped and exits 0.
 */
export async function clusterOrSkip(bench) {
  const candidates = [process.env.BENCH_KUBECONFIG, process.env.KUBECONFIG, '/tmp/devloop-k8s/admin.kubeconfig'].filter(Boolean);
  const kubeconfig = candidates.find((file) => existsSync(file));
  const skip = (why) => {
    console.log(`bench/${bench}: skipped (${why})`);
    process.exit(0);
  };
  if (!kubeconfig) skip('no cluster: set BENCH_KUBECONFIG or KUBECONFIG, or start ../shared/k8s');
  try {
    await exec('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { timeout: 10_000 });
  } catch (error) {
    skip(error.code === 'ENOENT' ? 'kubectl is not installed' : `the cluster of ${kubeconfig} does not answer`);
  }
  try {
    await exec('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
  } catch {
    skip('dockerd is not running');
  }
  return kubeconfig;
}

/** `kubectl …` against `kubeconfig`; resolves with stdout. */
export async function kubectl(kubeconfig, args, timeoutMs = 120_000) {
  return (await exec('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: timeoutMs })).stdout;
}

/** A new namespace `bench-<name>-<random>`; `remove()` deletes it without waiting. */
export async function benchNamespace(kubeconfig, name) {
  const namespace = `bench-${name}-${randomBytes(3).toString('hex')}`;
  await kubectl(kubeconfig, ['create', 'namespace', namespace]);
  return { namespace, remove: () => kubectl(kubeconfig, ['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined) };
}

/** The registry the cluster pulls from: BENCH_REGISTRY, DEVLOOP_TEST_REGISTRY, else the shared 127.0.0.1:5000. */
export function benchRegistry() {
  return process.env.BENCH_REGISTRY || process.env.DEVLOOP_TEST_REGISTRY || '127.0.0.1:5000';
}

/** Runs what `cleanups` holds, the last pushed first; a failing step does not stop the others. */
export async function runCleanups(cleanups) {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
}

/**
 * The example project (exampleProject) in a new temp folder, with a namespace of its own: as each part
 * is made, what undoes it is pushed onto `cleanups` (see runCleanups).
 */
export async function benchProject(kubeconfig, name, cleanups, options) {
  const dir = await mkdtemp(join(tmpdir(), `devloop-bench-${name}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const ns = await benchNamespace(kubeconfig, name);
  cleanups.push(ns.remove);
  const project = await exampleProject(dir, benchRegistry(), options);
  cleanups.push(() => removeImages(project.repo));
  return { dir, ns, project };
}

/**
 * The bundled example (devloop.yaml + examples/hello) copied to `dir`, with free local ports for its
 * forwards, and a sync rule for the busybox httpd artifact (quote: www/** → /www). With
 * `builder: 'oci'` the Go server (hello) is built daemonlessly from the same files its Dockerfile copies
 * (bin/hello, public/ on the same base, same entrypoint). Returns the env for devloop and the docker side
 * (base image, a fresh repository prefix).
 */
export async function exampleProject(dir, registry, { builder = 'docker' } = {}) {
  await copyExampleProject(dir);
  const config = join(dir, 'devloop.yaml');
  const helloPort = await freePort();
  const quotePort = await freePort();
  let text = await readFile(config, 'utf8');
  text = text
    .replace('localPort: 8080}', `localPort: ${helloPort}}`)
    .replace('localPort: 8081}', `localPort: ${quotePort}}`)
    .replace(/(context: examples\/hello\/quote\n(?:.*\n)*?\s+buildArgs: \{BASE: "[^"]*"\}\n)/, '$1      sync:\n        - {src: "www/**", dest: /www}\n');
  if (builder === 'oci') {
    const docker = '      docker:\n        dockerfile: Dockerfile\n        buildArgs: {BASE: "${DEVLOOP_BASE_IMAGE:-busybox:1.36}"}\n';
    if (!text.includes(docker)) throw new Error('devloop.yaml: the hello artifact\'s docker section changed; update bench/_cluster.mjs');
    text = text.replace(
      docker,
      '      oci:\n        from: "${DEVLOOP_BASE_IMAGE:-busybox:1.36}"\n        layers: [{from: bin/hello, to: /app/hello}, {from: public, to: /app/public}]\n        entrypoint: [/app/hello]\n        ports: [8080]\n',
    );
  }
  await writeFile(config, text);
  const base = await busyboxBaseImage(registry);
  const repo = `${registry}/bench-${randomBytes(3).toString('hex')}`;
  return { helloPort, quotePort, base, repo, env: { DEVLOOP_DEFAULT_REPO: repo, DEVLOOP_BASE_IMAGE: base } };
}

/** GET on a new connection (no keep-alive); resolves with {status, body}, rejects on errors or after timeoutMs. */
export function getFresh(port, path, timeoutMs = 2_000) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `GET path` every `everyMs` until `accept(body)`; resolves with the milliseconds it took, or rejects after timeoutMs. */
export async function untilServed(port, path, accept, timeoutMs = 120_000, everyMs = 20) {
  const started = performance.now();
  for (;;) {
    try {
      const { status, body } = await getFresh(port, path);
      if (status === 200 && accept(body)) return performance.now() - started;
    } catch {
      // not there yet: refused, reset, timeout
    }
    if (performance.now() - started > timeoutMs) throw new Error(`GET 127.0.0.1:${port}${path}: not served within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Removes the local docker images of `repo` (the docker side of the benches tags them there). */
export async function removeImages(repo) {
  const { stdout } = await run('docker', ['images', '-q', '--filter', `reference=${repo}/*`], { timeout: 30_000 }).catch(() => ({ stdout: '' }));
  const ids = [...new Set(stdout.split('\n').filter(Boolean))];
  if (ids.length) await run('docker', ['rmi', '-f', ...ids], { timeout: 60_000 }).catch(() => undefined);
}

export function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** An iteration's stages as one line: "compile(hello) 0.6 s · build(hello) 40 ms · …". */
export function breakdown(stages) {
  return stages.map((s) => `${s.stage}${s.artifact ? `(${s.artifact})` : ''} ${fmtMs(s.durationMs)}`).join(' · ');
}

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** `devloop …` in the background with its JSON events collected; `stop()` sends SIGINT (cleanup) and waits. */
export function startDev(cwd, args, env) {
  const child = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events = [];
  let rest = '';
  let err = '';
  const wakers = new Set();
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop();
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line));
    for (const wake of wakers) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('exit', () => {
    for (const wake of wakers) wake();
  });
  return {
    events,
    stderr: () => err.slice(-3000),
    /** CPU time (user + system) the devloop process used so far, from /proc (NaN elsewhere). */
    cpuMs() {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
      } catch {
        return NaN;
      }
    },
    waitFor(predicate, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(predicate);
          if (found) {
            wakers.delete(check);
            clearTimeout(timer);
            resolve(found);
          } else if (child.exitCode !== null) {
            wakers.delete(check);
            clearTimeout(timer);
            reject(new Error(`devloop exited ${child.exitCode}: ${err.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          wakers.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms; last events: ${JSON.stringify(events.slice(-5))}`));
        }, timeoutMs);
        wakers.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
