/**
 * Drives `devloop dev` as a child process against the fake API server (docker runtime: real
 * containers) and a real registry, in a temp copy of examples/hello, reading its JSON events.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, childEnv, startDevloop, type CliEvent, type RunningCli } from '../support/cli.js';
import { busyboxBaseImage, freePort, startRegistry } from '../support/services.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { DockerRuntime } from '../support/fake-kube/docker-runtime.js';

export { ROOT as repoRoot, CLI as bin } from '../support/cli.js';

export type DevEvent = CliEvent;

export interface Project {
  dir: string;
  helloPort: number;
  quotePort: number;
  /** The registry host and the busybox base image pushed to it, for tests that write their own config. */
  registry: string;
  base: string;
  /** The environment `devloop` runs with (test/support/cli.ts `childEnv`), for tests that start it themselves. */
  env: Record<string, string | undefined>;
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
  await cp(join(ROOT, 'examples/hello'), dir, { recursive: true });
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
  const env = childEnv({ KUBECONFIG: fake.kubeconfigPath });
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

/** `devloop dev --output json` running on a project, with stdin open for key commands. */
export type DevProcess = RunningCli;

export function startDev(project: Pick<Project, 'dir' | 'env'>, args: string[] = []): DevProcess {
  return startDevloop(project.dir, ['dev', '--output', 'json', ...args], project.env, { stdin: 'pipe' });
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
