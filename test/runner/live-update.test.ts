/**
 * The dev loop's live-update record (runner/live-update.ts): what a sync sends to containers that
 * lack earlier syncs, and which pod changes make an artifact stale (a kubelet restart gives a new
 * container id, a new pod has its own).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadedConfig } from '../support/config.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { artifacts, Bench } from './bench.js';
import type { V1Pod } from '@kubernetes/client-node';
import { LiveUpdates } from '../../src/runner/live-update.js';
import type { BuildResult } from '../../src/build/types.js';
import type { RunningContainer } from '../../src/sync/index.js';

const build: BuildResult = { image: 'app', repo: '127.0.0.1:5000/app', tag: 't1', digest: 'sha256:1111', ref: '127.0.0.1:5000/app:t1@sha256:1111', cached: false };
const builds = new Map([['app', build]]);
const binary = { local: '/p/bin/app', path: '/app/app', dest: '/app' };
const script = { local: '/p/run.sh', path: '/app/run.sh', dest: '/app' };
const target = (containerId: string): RunningContainer => ({ namespace: 'ns', pod: `pod-${containerId}`, container: 'app', containerId, ports: [8080] });

function pod(name: string, containerId: string, image = build.ref): V1Pod {
  return {
    metadata: { name, uid: `uid-${name}` },
    spec: { containers: [{ name: 'app', image }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', image, imageID: '', ready: true, restartCount: 0, containerID: containerId, state: { running: {} } }] },
  };
}

describe('live update record', () => {
  it('containers that lack earlier syncs get everything since the build; the others only the change', () => {
    const live = new LiveUpdates();
    live.synced('app', [binary], [], [target('c1')]);
    const next = live.catchUp('app', [script], []);
    expect(next.copy).toEqual([binary, script]);
    expect(next.current(target('c1'))).toBe(true);
    expect(next.current(target('c2'))).toBe(false);
    // A later removal of a copied path replaces the copy.
    live.synced('app', [script], [], [target('c1')]);
    const removal = { path: '/app/run.sh', dest: '/app', dir: false };
    expect(live.catchUp('app', [], [removal])).toMatchObject({ copy: [binary], remove: [removal] });
  });

  it('a running container it has not brought up to date makes the artifact stale, once; a new build forgets it all', () => {
    const live = new LiveUpdates();
    expect(live.notice([pod('a', 'c1')], builds)).toBe(false); // nothing synced yet: nothing to lose
    live.synced('app', [binary], [], [target('c1')]);
    expect(live.notice([pod('a', 'c1')], builds)).toBe(false);
    expect(live.notice([pod('a', 'c1'), pod('b', 'c2', 'other:1')], builds)).toBe(false); // another image
    expect(live.notice([pod('a', 'c1-restarted')], builds)).toBe(true); // the kubelet restarted it
    expect(live.stale).toEqual(new Set(['app']));
    expect(live.notice([pod('a', 'c1-restarted')], builds)).toBe(false); // already known
    live.synced('app', [], [], [target('c1-restarted')]);
    expect(live.stale.size).toBe(0);
    live.built('app');
    expect(live.notice([pod('c', 'c3')], builds)).toBe(false);
    expect(live.catchUp('app', [], []).copy).toEqual([]);
  });
});

describe('live update in the dev loop (fake bench)', () => {
  let dir: string;
  const w = (rel: string) => ({ path: join(dir, rel), kind: 'write' as const });
  /** hello: the Go starter's layout with a restart rule for its binary. */
  async function bench(noShell = false): Promise<Bench> {
    dir = await tempTree('devloop-live-loop-', {
      '.git/HEAD': 'ref: refs/heads/main\n',
      'devloop.yaml': 'apiVersion: devloop/v1\n',
      'hello/.gitignore': 'bin/\n',
      'hello/.dockerignore': '*\n!bin/app\n',
      'hello/Dockerfile': 'FROM busybox\n',
      'hello/main.go': 'package main\n',
      'k8s/app.yaml': 'kind: Service\n',
    });
    const [hello] = artifacts(dir);
    const live = { ...hello!, sync: [{ src: 'bin/app', dest: '/app', restart: true }] };
    const b = new Bench(loadedConfig(dir, { manifests: ['k8s/*.yaml'], build: { artifacts: [live] } }));
    if (noShell) b.noShell.add('hello');
    await b.start();
    return b;
  }
  afterAll(removeTemps);

  it('deploys under the supervisor; main.go → compile, copy the binary, restart (forwards drop old connections); no build, no deploy', async () => {
    const b = await bench();
    expect(b.take()).toContain('deploy hello:v1 supervising hello:v1');
    await b.save(w('hello/main.go'));
    expect(b.take()).toEqual([
      'compile hello',
      'sync hello /app/app',
      'restart hello hello-pod',
      'forwards end connections to hello-pod',
    ]);
    expect(b.iterations().at(-1)).toMatchObject({ status: 'ok', reason: 'live update (compile) hello: main.go changed' });
    await b.stop();
  });

  it('a crashing process fails the iteration and says the containers wait for the next save, which recovers', async () => {
    const b = await bench();
    b.take();
    b.crash.add('hello');
    await b.save(w('hello/main.go'));
    expect(b.iterations().at(-1)).toMatchObject({ status: 'error' });
    expect(b.notices('info').at(-1)).toBe('the containers keep running and wait for the next save');
    b.crash.delete('hello');
    await b.save(w('hello/main.go'));
    expect(b.iterations().at(-1)).toMatchObject({ status: 'ok' });
    await b.stop();
  });

  it('an image without /bin/sh: not supervised, said once, and a change rebuilds and deploys', async () => {
    const noShell = await bench(true);
    expect(noShell.notices('warn')).toEqual(['cannot live-update hello: it has no /bin/sh; its restart sync rules rebuild instead']);
    noShell.take();
    await noShell.save(w('hello/main.go'));
    expect(noShell.take()).toEqual(['build hello+compile', 'deploy hello:v2', 'forwards refresh']);
    expect(noShell.notices('warn')).toHaveLength(1);
    await noShell.stop();
  });
});
