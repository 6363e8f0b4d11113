/**
 * Live update on a real cluster (issue 11): a Go server whose compiled binary a `restart: true` sync
 * rule covers. A change to main.go compiles, copies the binary into both replicas and restarts the
 * process in place: the new response comes through the same forward, from the same pods, with no
 * image build, push or apply. A deleted pod's replacement comes back from the image and is brought
 * up to date; a binary that crashes fails the iteration with its log lines and the next save
 * recovers; `devloop run` and `devloop render` never wrap the command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { devloop, killAll, servicesPresent, tempDir, type CliEvent, type RunningCli } from '../e2e/support.js';
import { busyboxBaseImage, freePort, testRegistry } from '../support/services.js';
import { unsupervisedCommand } from '../../src/sync/supervisor.js';
import { clusterPresent, get, isReady, livePods, openCluster, removeRepoImages, startDevServing, until, webManifests, type Cluster } from './support.js';

const present = (await clusterPresent()) && (await servicesPresent({ docker: true, go: true }));

const mainGo = (version: string, crash = false): string => `package main

import (
	"fmt"
	"log"
	"net/http"
)

const version = "${version}"

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, version) })
	log.Printf("serving %s", version)
	${crash ? 'panic("boom " + version)' : ''}
	log.Fatal(http.ListenAndServe(":8080", nil))
}
`;

/** The Go starter's layout: compile to bin/app, only bin/app in the image, a restart rule for it. */
async function goProject(dir: string, base: string, localPort: number): Promise<void> {
  await mkdir(join(dir, 'k8s'), { recursive: true });
  await writeFile(join(dir, 'main.go'), mainGo('v1'));
  await writeFile(join(dir, 'go.mod'), 'module live\n\ngo 1.19\n');
  await writeFile(join(dir, '.gitignore'), 'bin/\n.devloop/\n');
  await writeFile(join(dir, '.dockerignore'), '*\n!bin/app\n');
  await writeFile(join(dir, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY bin/app /app\nENTRYPOINT ["/app"]\n');
  await writeFile(
    join(dir, 'k8s', 'app.yaml'),
    webManifests({ replicas: 2, readinessPath: '/' }),
  );
  await writeFile(
    join(dir, 'devloop.yaml'),
    `apiVersion: devloop/v1
kind: Config
metadata: {name: live}
build:
  tagPolicy: inputDigest
  push: true
  artifacts:
    - image: web
      context: .
      compile:
        command: [go, build, -o, bin/app, .]
        inputs: ["**/*.go", go.mod]
        env: {CGO_ENABLED: "0", GOFLAGS: -trimpath}
      docker:
        buildArgs: {BASE: "${base}"}
      sync:
        - {src: bin/app, dest: /, restart: true}
manifests: ["k8s/*.yaml"]
deploy:
  statusCheck: {timeout: 90s}
portForward:
  - {resource: service/web, port: 80, localPort: ${localPort}}
`,
  );
}

const endOf = (reason: RegExp) => (e: CliEvent) => e.type === 'iteration' && e.status !== 'start' && reason.test(String(e.reason ?? ''));

/** Events of the iteration that ended with `end`, from its start. */
function iterationEvents(cli: RunningCli, end: CliEvent): CliEvent[] {
  const last = cli.events.indexOf(end);
  const first = cli.events.findIndex((e) => e.type === 'iteration' && e.status === 'start' && e.n === end.n);
  return cli.events.slice(first, last + 1);
}

const podIdentity = (pods: k8s.V1Pod[]): string[] => pods.map((p) => `${p.metadata!.name}/${p.metadata!.uid}/${p.status?.containerStatuses?.[0]?.restartCount}`).sort();

/** What each pod answers on its own IP (the cluster's pod network is reachable from the host). */
async function podAnswers(pods: k8s.V1Pod[]): Promise<string[]> {
  return Promise.all(pods.map(async (p) => (await get(`http://${p.status!.podIP}:8080/`))?.trim() ?? 'no answer'));
}

describe.skipIf(!present)('live update on a real cluster', () => {
  let cluster: Cluster;
  let project: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;
  let repo: string;
  let dev: RunningCli;
  let url: string;
  let localPort: number;

  beforeAll(async () => {
    cluster = await openCluster('live');
    const registry = await testRegistry();
    const base = await busyboxBaseImage(registry);
    project = await tempDir('devloop-cluster-live-');
    localPort = await freePort();
    await goProject(project.dir, base, localPort);
    repo = `${registry}/devloop-cluster-live-${randomBytes(3).toString('hex')}`;
    env = { ...cluster.env, DEVLOOP_DEFAULT_REPO: repo };
    ({ dev, url } = await startDevServing(project.dir, ['-n', cluster.namespace], env));
  }, 240_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await removeRepoImages(repo);
    await project?.remove();
  });

  it('dev runs the image\'s command under the supervisor', async () => {
    expect((await get(url))?.trim()).toBe('v1');
    const deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
    expect(unsupervisedCommand(deployment.spec!.template.spec!.containers[0]!.command)).toEqual(['/app']);
  });

  it('main.go changed → compile, copy, restart in place: the new response through the same forward, same pods, no build', async () => {
    const before = await livePods(cluster, 'web');
    expect(before).toHaveLength(2);
    const from = dev.events.length;
    await writeFile(join(project.dir, 'main.go'), mainGo('v2'));
    const end = await dev.waitFor(endOf(/^live update \(compile\) web: main\.go changed/), 60_000, from);
    expect(end.status).toBe('ok');
    // ok means the process answers again: no polling for the new version.
    expect((await get(url))?.trim()).toBe('v2');
    const events = iterationEvents(dev, end);
    const stages = events.filter((e) => e.type === 'stage' && e.status === 'end').map((e) => e.stage);
    expect(stages).toEqual(['compile', 'sync', 'restart']);
    expect(events.filter((e) => e.type === 'forward' && e.status === 'ready')).toEqual([]); // the forward did not move
    const after = await livePods(cluster, 'web');
    expect(podIdentity(after)).toEqual(podIdentity(before)); // same pods, no container restart
    expect(await podAnswers(after)).toEqual(['v2', 'v2']); // every replica
  }, 90_000);

  it('a deleted pod\'s replacement comes from the image; devloop copies the live-updated binary into it', async () => {
    const [victim] = await livePods(cluster, 'web');
    const from = dev.events.length;
    await cluster.core.deleteNamespacedPod({ name: victim!.metadata!.name!, namespace: cluster.namespace });
    const end = await dev.waitFor(endOf(/a container restarted without the files synced since the build/), 90_000, from);
    expect(end.status).toBe('ok');
    const pods = await until(
      'two ready pods without the deleted one',
      async () => {
        const live = (await livePods(cluster, 'web')).filter((p) => p.metadata!.name !== victim!.metadata!.name);
        return live.length === 2 && live.every(isReady) && live;
      },
      60_000,
    );
    expect(await podAnswers(pods)).toEqual(['v2', 'v2']);
  }, 120_000);

  it('a binary that crashes fails the iteration with its log lines; the pods keep running; the next save recovers', async () => {
    const before = podIdentity(await livePods(cluster, 'web'));
    let from = dev.events.length;
    await writeFile(join(project.dir, 'main.go'), mainGo('v3', true));
    const failed = await dev.waitFor(endOf(/exited with code/), 60_000, from);
    expect(failed.status).toBe('error');
    const events = iterationEvents(dev, failed);
    expect(events.find((e) => e.type === 'error')).toMatchObject({ code: 'RESTART_CRASHED', message: expect.stringMatching(/exited with code 2$/) });
    expect(events.some((e) => e.type === 'log' && e.line === 'panic: boom v3')).toBe(true);
    expect(podIdentity(await livePods(cluster, 'web'))).toEqual(before); // no CrashLoopBackOff, no new pod

    from = dev.events.length;
    await writeFile(join(project.dir, 'main.go'), mainGo('v4'));
    const fixed = await dev.waitFor(endOf(/^live update \(compile\) web/), 60_000, from);
    expect(fixed.status).toBe('ok');
    expect((await get(url))?.trim()).toBe('v4');
    expect(await podAnswers(await livePods(cluster, 'web'))).toEqual(['v4', 'v4']);
  }, 150_000);

  it('after dev: the next build has the live-updated code; `devloop run` and `render` never wrap', async () => {
    await dev.signal('SIGINT', 60_000);
    const render = await devloop(project.dir, ['render', '-n', cluster.namespace], env, 180_000);
    expect(render.exitCode, render.stderr).toBe(0);
    expect(render.stdout).not.toContain('devloop-supervisor');
    const run = await devloop(project.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 180_000);
    expect(run.exitCode, run.stderr).toBe(0);
    const deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
    expect(deployment.spec!.template.spec!.containers[0]!.command).toBeUndefined();
    const pods = await until('ready pods of the run', async () => {
      const live = (await livePods(cluster, 'web')).filter((p) => p.spec!.containers[0]!.command === undefined);
      return live.length === 2 && live.every(isReady) && live;
    }, 90_000);
    // The image built from the files on disk serves the last live-updated version.
    expect(await podAnswers(pods)).toEqual(['v4', 'v4']);
  }, 300_000);
});
