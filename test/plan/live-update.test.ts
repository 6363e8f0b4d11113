/**
 * The planner's live-update decisions (issue 11): a compile input of an artifact whose compile
 * outputs a `restart: true` sync rule covers is compiled and copied in, then the process restarts;
 * only when the running containers are supervised, else a rebuild. A container that lost what was
 * synced (kubelet restart, new pod) gets it again without a change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { ArtifactConfig } from '../../src/config/types.js';
import { isEmptyPlan, noSelfWrites, plan, type FileChange, type PlanInput, type PlanState } from '../../src/plan/index.js';
import { artifactRules } from '../../src/plan/rules.js';
import { removeTemps, tempTree } from '../support/tmp.js';

// <p>/app: the Go starter's layout (only bin/app goes into the image), restart rule for the binary,
// plus a restart rule for scripts/** (copied as they are) and a plain sync rule for public/**.
// <p>/wide: the image copies every file (main.go too), the binary has a restart rule.
let dir: string;
const at = (rel: string): string => join(dir, rel);

beforeAll(async () => {
  dir = await tempTree('devloop-plan-live-', {
    '.git/HEAD': 'ref: refs/heads/main\n',
    'app/.gitignore': 'bin/\n',
    'app/.dockerignore': '*\n!bin/app\n!scripts\n!public\n',
    'app/Dockerfile': 'FROM busybox\nCOPY bin/app /app\n',
    'app/main.go': 'package main\n',
    'app/scripts/run.sh': 'echo hi\n',
    'app/public/index.html': 'hi\n',
    'wide/.gitignore': 'bin/\n',
    'wide/Dockerfile': 'FROM busybox\nCOPY . /src\n',
    'wide/main.go': 'package main\n',
  });
});
afterAll(removeTemps);

function appConfig(): ArtifactConfig {
  return {
    image: 'app',
    context: at('app'),
    compile: { command: ['go', 'build', '-o', 'bin/app', '.'], inputs: ['**/*.go', 'go.mod'], env: {} },
    docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' },
    sync: [
      { src: 'bin/app', dest: '/', restart: true },
      { src: 'scripts/**', dest: '/scripts', restart: true },
      { src: 'public/**', dest: '/public' },
    ],
  };
}

function wideConfig(): ArtifactConfig {
  return { ...appConfig(), image: 'wide', context: at('wide'), sync: [{ src: 'bin/app', dest: '/', restart: true }] };
}

const state = (over: Partial<PlanState> = {}): PlanState => ({
  noSync: new Set(),
  syncedSinceBuild: new Set(),
  changedDuringLast: new Set(),
  selfWrites: noSelfWrites,
  built: new Set(['app', 'wide']),
  deployed: true,
  supervised: new Set(['app', 'wide']),
  ...over,
});

function input(changes: FileChange[], over: Partial<PlanState> = {}): PlanInput {
  return {
    changes,
    configFile: at('devloop.yaml'),
    configDir: dir,
    isManifest: picomatch('k8s/*.yaml'),
    artifacts: [artifactRules(appConfig()), artifactRules(wideConfig())],
    state: state(over),
  };
}

const w = (rel: string): FileChange => ({ path: at(rel), kind: 'write' });

describe('plan: live update', () => {
  it('a compile input whose outputs a restart rule covers: compile, copy, restart; no build, no deploy', () => {
    const p = plan(input([w('app/main.go')]));
    expect(p.actions).toEqual([{ kind: 'sync', image: 'app', files: ['main.go'], copy: [], remove: [], restart: true, compile: true }]);
    expect(p.redeploy).toBe(false);
    expect(p.reason).toBe('live update (compile) app: main.go changed');
  });

  it('a file of a restart rule is copied and the process restarted, without compile', () => {
    const p = plan(input([w('app/scripts/run.sh')]));
    expect(p.actions).toEqual([
      { kind: 'sync', image: 'app', files: ['scripts/run.sh'], copy: [{ local: at('app/scripts/run.sh'), path: '/scripts/run.sh', dest: '/scripts' }], remove: [], restart: true, compile: false },
    ]);
    expect(p.reason).toBe('live update app: scripts/run.sh changed');
  });

  it('a plain sync rule still only copies', () => {
    const p = plan(input([w('app/public/index.html')]));
    expect(p.actions).toMatchObject([{ kind: 'sync', image: 'app', restart: false, compile: false }]);
    expect(p.reason).toBe('sync app: public/index.html changed');
  });

  it('a plain sync and a live update of the same artifact are one restart', () => {
    const p = plan(input([w('app/public/index.html'), w('app/main.go')]));
    expect(p.actions).toMatchObject([{ kind: 'sync', image: 'app', restart: true, compile: true, files: ['main.go', 'public/index.html'] }]);
  });

  it('containers not running under the supervisor (no /bin/sh, or not yet deployed with it): rebuild', () => {
    expect(plan(input([w('app/main.go')], { supervised: new Set() })).actions).toEqual([{ kind: 'rebuild', image: 'app', compile: true, files: ['main.go'] }]);
    expect(plan(input([w('app/scripts/run.sh')], { supervised: new Set() })).actions).toEqual([{ kind: 'rebuild', image: 'app', compile: false, files: ['scripts/run.sh'] }]);
    // A plain sync needs no supervisor.
    expect(plan(input([w('app/public/index.html')], { supervised: new Set() })).actions).toMatchObject([{ kind: 'sync', restart: false }]);
  });

  it('a source the image also copies, which no sync rule covers, rebuilds (the containers would lack it)', () => {
    expect(plan(input([w('wide/main.go')])).actions).toEqual([{ kind: 'rebuild', image: 'wide', compile: true, files: ['main.go'] }]);
  });

  it('containers without tar (noSync) rebuild', () => {
    expect(plan(input([w('app/main.go')], { noSync: new Set(['app']) })).actions).toEqual([{ kind: 'rebuild', image: 'app', compile: true, files: ['main.go'] }]);
  });

  it('before the first deploy, or after a failed one: rebuild and deploy', () => {
    const p = plan(input([w('app/main.go')], { deployed: false }));
    expect(p.actions).toMatchObject([{ kind: 'rebuild', image: 'app', compile: true }]);
    expect(p.redeploy).toBe(true);
  });

  it('a stale artifact (a restarted container lacks the synced files) is caught up without any change', () => {
    const p = plan(input([], { stale: new Set(['app']) }));
    expect(isEmptyPlan(p)).toBe(false);
    expect(p.actions).toEqual([{ kind: 'sync', image: 'app', files: [], copy: [], remove: [], restart: true, compile: false }]);
    expect(p.reason).toBe('live update app: a container restarted without the files synced since the build');
    // With a change of its own, the change's sync does the catch-up too.
    expect(plan(input([w('app/main.go')], { stale: new Set(['app']) })).actions).toHaveLength(1);
    // Nothing deployed is known to run: nothing to catch up.
    expect(isEmptyPlan(plan(input([], { stale: new Set(['app']), deployed: false })))).toBe(true);
  });

  it('a manifest change after a live update rebuilds the artifact (the redeploy may replace its pods)', () => {
    const p = plan({ ...input([w('k8s/app.yaml')], { syncedSinceBuild: new Set(['app']) }) });
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'app', compile: false, files: [] }]);
    expect(p.redeploy).toBe(true);
  });
});
