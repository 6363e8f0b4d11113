import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { ArtifactConfig } from '../../src/config/types.js';
import { isEmptyPlan, noSelfWrites, plan, planAfterSyncUnavailable, planAll, type FileChange, type PlanInput, type PlanState } from '../../src/plan/index.js';
import { artifactRules, manifestMatcher } from '../../src/plan/rules.js';
import { compileSyncRules, mapSyncPath } from '../../src/sync/map.js';
import { loadedConfig } from '../support/config.js';
import { removeTemps, tempTree } from '../support/tmp.js';

// A real project on disk: the planner gets the inputs module's rules, as in `devloop dev`.
//   <p>/.git/               a git work tree, so .gitignore files above a context apply
//   <p>/.gitignore          *.log (applies to hello, which compiles)
//   <p>/hello/              compile (go), Dockerfile inside, .gitignore bin/, .dockerignore *.md, sync public/**
//   <p>/quote/              no compile, Dockerfile outside: ../docker/quote.Dockerfile
let dir: string;
const at = (rel: string): string => join(dir, rel);

beforeAll(async () => {
  dir = await tempTree('devloop-plan-', {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.gitignore': '*.log\n',
    'hello/.gitignore': 'bin/\n',
    'hello/.dockerignore': '*.md\n',
    'hello/Dockerfile': 'FROM scratch\nCOPY bin/hello /hello\n',
    'hello/main.go': 'package main\n',
    'quote/www/index.html': 'hi\n',
    'docker/quote.Dockerfile': 'FROM scratch\nCOPY www /www\n',
  });
});
afterAll(removeTemps);

function helloConfig(): ArtifactConfig {
  return {
    image: 'hello',
    context: at('hello'),
    compile: { command: ['go', 'build', '-o', 'bin/hello', '.'], inputs: ['**/*.go', 'go.mod'], env: {} },
    docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' },
    sync: [{ src: 'public/**', dest: '/app/public' }],
  };
}

function quoteConfig(): ArtifactConfig {
  return { image: 'quote', context: at('quote'), docker: { dockerfile: '../docker/quote.Dockerfile', buildArgs: {}, target: '' }, sync: [] };
}

/** Both artifacts built and deployed, nothing synced or held: the state of a settled dev session. */
const settledState = (): PlanState => ({
  noSync: new Set(),
  syncedSinceBuild: new Set(),
  changedDuringLast: new Set(),
  selfWrites: noSelfWrites,
  built: new Set(['hello', 'quote']),
  deployed: true,
});

function input(changes: FileChange[], over: Partial<PlanInput> = {}): PlanInput {
  return {
    changes,
    configFile: at('devloop.yaml'),
    configDir: dir,
    isManifest: manifestMatcher(loadedConfig(dir, { manifests: ['k8s/*.yaml'] })),
    artifacts: [artifactRules(helloConfig()), artifactRules(quoteConfig())],
    state: settledState(),
    ...over,
  };
}

const w = (rel: string): FileChange => ({ path: at(rel), kind: 'write' });

describe('plan', () => {
  it('rebuilds only the artifact whose compile input changed, with compile', () => {
    const p = plan(input([w('hello/main.go')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['main.go'] }]);
    expect(p.redeploy).toBe(false);
    expect(p.reason).toBe('rebuild hello: main.go changed');
    expect(p.changed).toEqual(['hello/main.go']);
  });

  it('skips compile when only files the image copies changed', () => {
    const p = plan(input([w('hello/Dockerfile')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: ['Dockerfile'] }]);
    expect(p.reason).toBe('rebuild hello (compile skipped): Dockerfile changed');
  });

  it('syncs when every changed file matches a sync rule', () => {
    const p = plan(input([w('hello/public/index.html'), w('hello/public/css/a.css')]));
    expect(p.actions).toEqual([
      {
        kind: 'sync',
        image: 'hello',
        files: ['public/css/a.css', 'public/index.html'],
        copy: [
          { local: at('hello/public/index.html'), path: '/app/public/index.html', dest: '/app/public' },
          { local: at('hello/public/css/a.css'), path: '/app/public/css/a.css', dest: '/app/public' },
        ],
        remove: [],
        restart: false,
        compile: false,
      },
    ]);
    expect(p.reason).toBe('sync hello: public/css/a.css and 1 more changed');
  });

  it('rebuilds when a synced file changes together with another input', () => {
    const p = plan(input([w('hello/public/index.html'), w('hello/main.go')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['main.go', 'public/index.html'] }]);
  });

  it('maps deletions to removals, folders recursively', () => {
    const p = plan(input([{ path: at('hello/public/old.html'), kind: 'delete' }, { path: at('hello/public/img'), kind: 'deleteDir' }]));
    expect(p.actions).toEqual([
      {
        kind: 'sync',
        image: 'hello',
        files: ['public/img', 'public/old.html'],
        copy: [],
        remove: [
          { path: '/app/public/old.html', dest: '/app/public', dir: false },
          { path: '/app/public/img', dest: '/app/public', dir: true },
        ],
        restart: false,
        compile: false,
      },
    ]);
  });

  it('a deleted source folder rebuilds with compile', () => {
    const p = plan(input([{ path: at('hello/pkg'), kind: 'deleteDir' }]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['pkg'] }]);
  });

  it('a deleted compile input rebuilds with compile', () => {
    const p = plan(input([{ path: at('hello/util.go'), kind: 'delete' }]));
    expect(p.actions[0]).toMatchObject({ kind: 'rebuild', compile: true });
  });

  it('the last change of a path wins (atomic save: delete then write)', () => {
    const p = plan(input([{ path: at('hello/public/a.html'), kind: 'delete' }, w('hello/public/a.html')]));
    expect(p.actions[0]).toMatchObject({ kind: 'sync', remove: [], copy: [{ path: '/app/public/a.html' }] });
  });

  it('ignores files that are no input (compile outputs, dockerignored)', () => {
    const p = plan(input([w('hello/bin/hello'), w('hello/README.md'), w('other/x.txt')]));
    expect(isEmptyPlan(p)).toBe(true);
    expect(p.reason).toBe('');
    expect(p.changed).toEqual([]);
  });

  it('redeploys without builds when a manifest changed', () => {
    const p = plan(input([w('k8s/hello.yaml')]));
    expect(p).toMatchObject({ redeploy: true, actions: [], reload: false, reason: 'redeploy: k8s/hello.yaml changed' });
  });

  it('a redeploy rebuilds artifacts with files synced since their build (pods may restart)', () => {
    const p = plan(input([w('k8s/hello.yaml')], { state: { ...settledState(), syncedSinceBuild: new Set(['hello']) } }));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: [] }]);
    const q = plan(input([w('k8s/hello.yaml'), w('hello/public/a.html')], { state: { ...settledState(), syncedSinceBuild: new Set(['hello']) } }));
    expect(q.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: ['public/a.html'] }]);
  });

  it('reloads when devloop.yaml changed', () => {
    const p = plan(input([w('devloop.yaml'), w('hello/main.go')]));
    expect(p.reload).toBe(true);
    expect(p.reason).toBe('reload config: devloop.yaml changed');
  });

  it('falls back to a rebuild for artifacts without tar in their containers', () => {
    const p = plan(input([w('hello/public/index.html')], { state: { ...settledState(), noSync: new Set(['hello']) } }));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: ['public/index.html'] }]);
  });

  it('ignore-file changes rebuild and ask for fresh classifiers', () => {
    const p = plan(input([w('hello/.gitignore')]));
    expect(p.refreshRules).toBe(true);
    expect(p.actions[0]).toMatchObject({ kind: 'rebuild', compile: true });
  });

  it('touches several artifacts independently', () => {
    const p = plan(input([w('quote/www/index.html'), w('hello/public/x.html')]));
    expect(p.actions.map((a) => `${a.kind}:${a.image}`)).toEqual(['sync:hello', 'rebuild:quote']);
    expect(p.reason).toBe('sync hello: public/x.html changed; rebuild quote: www/index.html changed');
  });

  it('a refused sync destination rebuilds and says why', () => {
    const rules = artifactRules({ ...helloConfig(), sync: [{ src: 'public/**', dest: 'relative/dir' }] });
    const p = plan(input([w('hello/public/a.html')], { artifacts: [rules] }));
    expect(p.actions[0]).toMatchObject({ kind: 'rebuild', compile: false });
    expect(p.notes[0]).toMatch(/must be an absolute/);
  });

  it('10,000 changed files make one plan with a short reason', () => {
    const changes = Array.from({ length: 10_000 }, (_, i) => w(`hello/src${i}.go`));
    const p = plan(input(changes));
    expect(p.actions).toHaveLength(1);
    expect(p.actions[0]!.files).toHaveLength(10_000);
    expect(p.reason).toBe('rebuild hello: src0.go and 9999 more changed');
  });
});

describe('plan: everything, and what is left when a sync is unavailable', () => {
  const all = () => [artifactRules(helloConfig()), artifactRules(quoteConfig())];

  it('planAll builds every artifact (compile where it has one) and deploys', () => {
    const p = planAll({ artifacts: all(), reason: 'rebuild all (r)', state: { selfWrites: noSelfWrites } });
    expect(p.actions).toEqual([
      { kind: 'rebuild', image: 'hello', compile: true, files: [] },
      { kind: 'rebuild', image: 'quote', compile: false, files: [] },
    ]);
    expect(p).toMatchObject({ deploy: true, reload: false, reason: 'rebuild all (r)' });
  });

  it('devloop.yaml changed: reload, and nothing else until the new config says what (planAll)', () => {
    const p = plan(input([w('devloop.yaml'), w('hello/main.go')]));
    expect(p).toMatchObject({ reload: true, deploy: false, actions: [] });
    expect(isEmptyPlan(p)).toBe(false);
  });

  it('every rebuild or manifest change deploys; a sync alone does not', () => {
    expect(plan(input([w('hello/main.go')])).deploy).toBe(true);
    expect(plan(input([w('k8s/hello.yaml')])).deploy).toBe(true);
    expect(plan(input([w('hello/public/a.html')])).deploy).toBe(false);
  });

  it('after a sync found no tar: that artifact rebuilds without compile, the other builds stay, the syncs that ran are done', () => {
    const decided = plan(input([w('hello/public/a.html'), w('quote/www/index.html')]));
    expect(decided.actions.map((a) => `${a.kind}:${a.image}`)).toEqual(['sync:hello', 'rebuild:quote']);
    const rest = planAfterSyncUnavailable(decided, { artifacts: all(), state: { ...settledState(), noSync: new Set(['hello']) } });
    expect(rest.actions).toEqual([
      { kind: 'rebuild', image: 'hello', compile: false, files: ['public/a.html'] },
      { kind: 'rebuild', image: 'quote', compile: false, files: ['www/index.html'] },
    ]);
    expect(rest.deploy).toBe(true);
  });

  it('after a sync found no tar in one artifact, another artifact\'s sync that ran is not redone', () => {
    const quoteSyncs = artifactRules({ ...quoteConfig(), sync: [{ src: 'www/**', dest: '/www' }] });
    const decided = plan(input([w('hello/public/a.html'), w('quote/www/index.html')], { artifacts: [artifactRules(helloConfig()), quoteSyncs] }));
    expect(decided.actions.map((a) => `${a.kind}:${a.image}`)).toEqual(['sync:hello', 'sync:quote']);
    const rest = planAfterSyncUnavailable(decided, { artifacts: [artifactRules(helloConfig()), quoteSyncs], state: { ...settledState(), noSync: new Set(['quote']) } });
    expect(rest.actions).toEqual([{ kind: 'rebuild', image: 'quote', compile: false, files: ['www/index.html'] }]);
    expect(rest.deploy).toBe(true);
  });
});

describe('plan: inputs outside the context (the same rules as the input digest)', () => {
  it('a .gitignore above the context rebuilds with compile and refreshes the rules', () => {
    const p = plan(input([w('.gitignore')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['../.gitignore'] }]);
    expect(p.refreshRules).toBe(true);
    expect(p.reason).toBe('rebuild hello: ../.gitignore changed');
    expect(p.changed).toEqual(['.gitignore']);
  });

  it('what a .gitignore above the context ignores is no input', () => {
    expect(isEmptyPlan(plan(input([w('hello/debug.log')])))).toBe(true);
  });

  it('a Dockerfile outside the context rebuilds that artifact (no compile)', () => {
    const p = plan(input([w('docker/quote.Dockerfile')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'quote', compile: false, files: ['../docker/quote.Dockerfile'] }]);
    expect(p.reason).toBe('rebuild quote: ../docker/quote.Dockerfile changed');
  });

  it('other files beside an outside Dockerfile or above the context are no input', () => {
    expect(isEmptyPlan(plan(input([w('docker/README'), w('notes.txt'), w('.gitattributes')])))).toBe(true);
  });
});

describe('plan: iterations started only by their own writes', () => {
  let gen: string;
  beforeAll(() => void (gen = at('hello/gen.go')));
  const loop = (changedDuringLast: string[], selfWrites = noSelfWrites) =>
    plan(input([w('hello/gen.go')], { state: { ...settledState(), changedDuringLast: new Set(changedDuringLast), selfWrites } }));

  it('the first one runs, the next with the same files is held with a warning naming them', () => {
    const first = loop([gen]);
    expect(first.actions).toHaveLength(1);
    expect(first.notes).toEqual([]);
    const second = loop([gen], first.selfWrites);
    expect(isEmptyPlan(second)).toBe(true);
    expect(second.held.map((c) => c.path)).toEqual([gen]);
    expect(second.notes).toHaveLength(1);
    expect(second.notes[0]).toMatch(/only by files the previous iteration wrote \(hello\/gen\.go\)/);
    // from then on held at once, silently
    const third = loop([gen], second.selfWrites);
    expect(isEmptyPlan(third)).toBe(true);
    expect(third.notes).toEqual([]);
  });

  it('a change of the same file while no iteration runs is someone else\'s: it runs', () => {
    const held = loop([gen], loop([gen], loop([gen]).selfWrites).selfWrites);
    expect(loop([], held.selfWrites).actions).toHaveLength(1);
  });

  it('held changes go along with the next change of another file', () => {
    const held = loop([gen], loop([gen]).selfWrites);
    const next = plan(input([...held.held, w('hello/main.go')], { state: { ...settledState(), changedDuringLast: new Set([gen]), selfWrites: held.selfWrites } }));
    expect(next.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['gen.go', 'main.go'] }]);
    expect(next.held).toEqual([]);
  });

  it('different files each time, or also a file nobody wrote during the iteration: no loop', () => {
    const first = loop([gen]);
    const other = plan(input([w('hello/other.go')], { state: { ...settledState(), changedDuringLast: new Set([at('hello/other.go')]), selfWrites: first.selfWrites } }));
    expect(other.actions).toHaveLength(1);
    const mixed = plan(input([w('hello/gen.go'), w('hello/main.go')], { state: { ...settledState(), changedDuringLast: new Set([gen]), selfWrites: first.selfWrites } }));
    expect(mixed.actions).toHaveLength(1);
    expect(mixed.selfWrites.lastSelfWritten).toEqual([]);
  });
});

describe('sync mapping', () => {
  const rules = compileSyncRules([
    { src: 'public/**', dest: '/app/public' },
    { src: 'conf/app.ini', dest: '/etc/app/' },
    { src: '**/*.css', dest: '/css' },
  ]);
  it('keeps paths below the glob base', () => {
    expect(mapSyncPath(rules, 'public/a/b.html')).toEqual({ kind: 'targets', targets: [{ dest: '/app/public', path: '/app/public/a/b.html' }] });
  });
  it('a literal file lands in dest by name', () => {
    expect(mapSyncPath(rules, 'conf/app.ini')).toEqual({ kind: 'targets', targets: [{ dest: '/etc/app', path: '/etc/app/app.ini' }] });
  });
  it('every matching rule gets the file', () => {
    expect(mapSyncPath(rules, 'public/x.css')).toEqual({
      kind: 'targets',
      targets: [
        { dest: '/app/public', path: '/app/public/x.css' },
        { dest: '/css', path: '/css/public/x.css' },
      ],
    });
  });
  it('no rule: none', () => {
    expect(mapSyncPath(rules, 'main.go')).toEqual({ kind: 'none' });
  });
  it('refuses destinations that escape or are relative', () => {
    expect(mapSyncPath(compileSyncRules([{ src: '**', dest: '/app/../etc' }]), 'a').kind).toBe('refused');
    expect(mapSyncPath(compileSyncRules([{ src: '**', dest: 'app' }]), 'a').kind).toBe('refused');
    expect(mapSyncPath(compileSyncRules([{ src: 'x/**', dest: '/app' }]), 'x/../../etc/passwd').kind).not.toBe('targets');
  });
});
