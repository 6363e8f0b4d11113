/**
 * Drives `devloop dev` as a child process against the fake API server (docker runtime: real
 * containers) and a real registry, in a temp copy of examples/hello, reading its JSON events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { busyboxBaseImage, freePort, startRegistry } from '../support/services.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { DockerRuntime } from '../support/fake-kube/docker-runtime.js';

/** The repository (overridable: the benchmark runs a compiled copy of this file from elsewhere). */
export const repoRoot = process.env.DEVLOOP_REPO_ROOT ?? resolve(import.meta.dirname, '../..');
export const bin = join(repoRoot, 'bin/devloop.js');

export interface DevEvent {
  type: string;
  time: string;
  [key: string]: unknown;
}

export interface Project {
  dir: string;
  helloPort: number;
  quotePort: number;
  /** The registry host and the busybox base image pushed to it, for tests that write their own config. */
  registry: string;
  base: string;
  env: NodeJS.ProcessEnv;
  fake: FakeKube;
  runtime: DockerRuntime;
  dispose(): Promise<void>;
}

export async function makeProject(): Promise<Project> {
  // Our own registry (unless CI provides one), stopped in dispose(): a worker's exit hook is not reliable.
  const own = process.env.DEVLOOP_TEST_REGISTRY ? undefined : await startRegistry();
  const registry = process.env.DEVLOOP_TEST_REGISTRY ?? own!.host;
  const base = await busyboxBaseImage(registry);
  const dir = await mkdtemp(join(tmpdir(), 'devloop-dev-'));
  await cp(join(repoRoot, 'examples/hello'), dir, { recursive: true });
  const helloPort = await freePort();
  const quotePort = await freePort();
  await writeFile(
    join(dir, 'devloop.yaml'),
    `apiVersion: devloop/v1
kind: Config
metadata: {name: hello}
build:
  tagPolicy: inputDigest
  defaultRepo: ${registry}/devloop-dev-test
  push: true
  artifacts:
    - image: hello
      context: hello
      compile:
        command: [go, build, -o, bin/hello, .]
        inputs: ["**/*.go", go.mod]
        env: {CGO_ENABLED: "0", GOFLAGS: -trimpath}
      docker:
        buildArgs: {BASE: "${base}"}
      sync:
        - {src: "public/**", dest: /app/public}
    - image: quote
      context: quote
      docker:
        buildArgs: {BASE: "${base}"}
manifests: ["k8s/*.yaml"]
deploy:
  statusCheck: {timeout: 60s}
portForward:
  - {resource: service/hello, port: 80, localPort: ${helloPort}}
  - {resource: service/quote, port: 8081, localPort: ${quotePort}}
`,
  );
  const runtime = new DockerRuntime();
  const fake = await startFakeKube({ runtime });
  const env = { ...process.env, KUBECONFIG: fake.kubeconfigPath, NO_COLOR: '1' };
  return {
    dir,
    helloPort,
    quotePort,
    registry,
    base,
    env,
    fake,
    runtime,
    async dispose() {
      await fake.stop();
      await runtime.close();
      await own?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface DevProcess {
  child: ChildProcess;
  events: DevEvent[];
  stderr: () => string;
  /** Resolves with the first event (from index `from`) matching, or rejects after timeoutMs. */
  waitFor(predicate: (e: DevEvent) => boolean, timeoutMs?: number, from?: number): Promise<DevEvent>;
  exited: Promise<number | null>;
}

export function startDev(project: Pick<Project, 'dir' | 'env'>, args: string[] = []): DevProcess {
  const child = spawn(process.execPath, [bin, 'dev', '--output', 'json', ...args], {
    cwd: project.dir,
    env: project.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: DevEvent[] = [];
  let err = '';
  let rest = '';
  const waiters = new Set<() => void>();
  const onLine = (line: string): void => {
    if (!line.trim().startsWith('{')) return;
    try {
      events.push(JSON.parse(line) as DevEvent);
    } catch {
      return;
    }
    for (const wake of waiters) wake();
  };
  const onChunk = (chunk: Buffer): void => {
    rest += chunk.toString();
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    lines.forEach(onLine);
  };
  child.stdout!.on('data', onChunk);
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    onChunk(chunk);
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return {
    child,
    events,
    stderr: () => err,
    exited,
    waitFor(predicate, timeoutMs = 60_000, from = 0) {
      return new Promise((resolveWait, reject) => {
        const check = (): boolean => {
          const found = events.slice(from).find(predicate);
          if (found) {
            cleanup();
            resolveWait(found);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs}ms; last events:\n${events.slice(-15).map((e) => JSON.stringify(e)).join('\n')}\nstderr tail: ${err.slice(-2000)}`));
        }, timeoutMs);
        const onExit = (): void => {
          if (check()) return;
          cleanup();
          reject(new Error(`devloop dev exited; last events:\n${events.slice(-15).map((e) => JSON.stringify(e)).join('\n')}\nstderr tail: ${err.slice(-2000)}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          child.off('exit', onExit);
        };
        const wake = (): void => void check();
        if (check()) return;
        waiters.add(wake);
        child.once('exit', onExit);
      });
    },
  };
}

/** GETs a URL until `expect` holds for the body (bounded); returns the last body. */
/** A new project with `devloop dev --debounce 150` running on it, after its first iteration succeeded. */
export async function startDevProject(firstIterationMs: number): Promise<{ project: Project; dev: DevProcess; hello: string }> {
  const project = await makeProject();
  const dev = startDev(project, ['--debounce', '150']);
  await dev.waitFor((e) => e.type === 'iteration' && e.status === 'ok' && e.n === 1, firstIterationMs);
  return { project, dev, hello: `http://127.0.0.1:${project.helloPort}` };
}

/** Kills `devloop dev` if it still runs, then removes the project. */
export async function stopDevProject(dev: DevProcess | undefined, project: Project | undefined): Promise<void> {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGKILL');
    await dev.exited;
  }
  await project?.dispose();
}

/** The workload objects in the fake, as "Kind/name". */
export function deployed(project: Project): string[] {
  return ['Deployment', 'ReplicaSet', 'Service', 'Pod'].flatMap((kind) => project.fake.objects.list(kind).map((o) => `${kind}/${o.metadata.name}`));
}

export async function fetchUntil(url: string, expect: (body: string) => boolean, timeoutMs = 20_000, pollMs = 100): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      last = await response.text();
      if (expect(last)) return last;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return last;
}
