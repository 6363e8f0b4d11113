/**
 * The dev loop's live-update record (runner/live-update.ts): what a sync sends to containers that
 * lack earlier syncs, and which pod changes make an artifact stale (a kubelet restart gives a new
 * container id, a new pod has its own).
 */
import { describe, expect, it } from 'vitest';
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
