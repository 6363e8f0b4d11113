import { describe, expect, it } from 'vitest';
import picomatch from 'picomatch';
import { isEmptyPlan, plan, type ArtifactRules, type FileChange, type PlanInput } from '../../src/plan/index.js';
import { compileSyncRules, mapSyncPath } from '../../src/sync/map.js';

const dir = '/p';
const goInputs = picomatch(['**/*.go', 'go.mod']);

function hello(extra: Partial<ArtifactRules> = {}): ArtifactRules {
  return {
    image: 'hello',
    context: '/p/hello',
    hasCompile: true,
    classify: (rel) => {
      if (rel.startsWith('bin/') || rel.endsWith('.md')) return { compile: false, image: false };
      return { compile: goInputs(rel), image: true };
    },
    definition: (rel) => (rel === 'Dockerfile' ? 'dockerfile' : rel === '.dockerignore' || rel === '.gitignore' ? 'ignore' : undefined),
    sync: compileSyncRules([{ src: 'public/**', dest: '/app/public' }]),
    ...extra,
  };
}

const quote: ArtifactRules = {
  image: 'quote',
  context: '/p/quote',
  hasCompile: false,
  classify: () => ({ compile: false, image: true }),
  definition: (rel) => (rel === 'Dockerfile' ? 'dockerfile' : undefined),
  sync: [],
};

function input(changes: FileChange[], over: Partial<PlanInput> = {}): PlanInput {
  return {
    changes,
    configFile: '/p/devloop.yaml',
    configDir: dir,
    isManifest: picomatch('k8s/*.yaml'),
    artifacts: [hello(), quote],
    state: { noSync: new Set(), syncedSinceBuild: new Set(), built: new Set(['hello', 'quote']), deployed: true },
    ...over,
  };
}

const w = (path: string): FileChange => ({ path, kind: 'write' });

describe('plan', () => {
  it('rebuilds only the artifact whose compile input changed, with compile', () => {
    const p = plan(input([w('/p/hello/main.go')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['main.go'] }]);
    expect(p.redeploy).toBe(false);
    expect(p.reason).toBe('rebuild hello: main.go changed');
    expect(p.changed).toEqual(['hello/main.go']);
  });

  it('skips compile when only files the image copies changed', () => {
    const p = plan(input([w('/p/hello/Dockerfile')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: ['Dockerfile'] }]);
    expect(p.reason).toBe('rebuild hello (compile skipped): Dockerfile changed');
  });

  it('syncs when every changed file matches a sync rule', () => {
    const p = plan(input([w('/p/hello/public/index.html'), w('/p/hello/public/css/a.css')]));
    expect(p.actions).toEqual([
      {
        kind: 'sync',
        image: 'hello',
        files: ['public/css/a.css', 'public/index.html'],
        copy: [
          { local: '/p/hello/public/index.html', path: '/app/public/index.html', dest: '/app/public' },
          { local: '/p/hello/public/css/a.css', path: '/app/public/css/a.css', dest: '/app/public' },
        ],
        remove: [],
      },
    ]);
    expect(p.reason).toBe('sync hello: public/css/a.css and 1 more changed');
  });

  it('rebuilds when a synced file changes together with another input', () => {
    const p = plan(input([w('/p/hello/public/index.html'), w('/p/hello/main.go')]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['main.go', 'public/index.html'] }]);
  });

  it('maps deletions to removals, folders recursively', () => {
    const p = plan(input([{ path: '/p/hello/public/old.html', kind: 'delete' }, { path: '/p/hello/public/img', kind: 'deleteDir' }]));
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
      },
    ]);
  });

  it('a deleted source folder rebuilds with compile', () => {
    const p = plan(input([{ path: '/p/hello/pkg', kind: 'deleteDir' }]));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: true, files: ['pkg'] }]);
  });

  it('a deleted compile input rebuilds with compile', () => {
    const p = plan(input([{ path: '/p/hello/util.go', kind: 'delete' }]));
    expect(p.actions[0]).toMatchObject({ kind: 'rebuild', compile: true });
  });

  it('the last change of a path wins (atomic save: delete then write)', () => {
    const p = plan(input([{ path: '/p/hello/public/a.html', kind: 'delete' }, w('/p/hello/public/a.html')]));
    expect(p.actions[0]).toMatchObject({ kind: 'sync', remove: [], copy: [{ path: '/app/public/a.html' }] });
  });

  it('ignores files that are no input (compile outputs, dockerignored)', () => {
    const p = plan(input([w('/p/hello/bin/hello'), w('/p/hello/README.md'), w('/p/other/x.txt')]));
    expect(isEmptyPlan(p)).toBe(true);
    expect(p.reason).toBe('');
    expect(p.changed).toEqual([]);
  });

  it('redeploys without builds when a manifest changed', () => {
    const p = plan(input([w('/p/k8s/hello.yaml')]));
    expect(p).toMatchObject({ redeploy: true, actions: [], reload: false, reason: 'redeploy: k8s/hello.yaml changed' });
  });

  it('a redeploy rebuilds artifacts with files synced since their build (pods may restart)', () => {
    const p = plan(input([w('/p/k8s/hello.yaml')], { state: { noSync: new Set(), syncedSinceBuild: new Set(['hello']), built: new Set(['hello', 'quote']), deployed: true } }));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: [] }]);
    const q = plan(input([w('/p/k8s/hello.yaml'), w('/p/hello/public/a.html')], { state: { noSync: new Set(), syncedSinceBuild: new Set(['hello']), built: new Set(['hello', 'quote']), deployed: true } }));
    expect(q.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: ['public/a.html'] }]);
  });

  it('reloads when devloop.yaml changed', () => {
    const p = plan(input([w('/p/devloop.yaml'), w('/p/hello/main.go')]));
    expect(p.reload).toBe(true);
    expect(p.reason).toBe('reload config: devloop.yaml changed');
  });

  it('falls back to a rebuild for artifacts without tar in their containers', () => {
    const p = plan(input([w('/p/hello/public/index.html')], { state: { noSync: new Set(['hello']), syncedSinceBuild: new Set(), built: new Set(['hello', 'quote']), deployed: true } }));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'hello', compile: false, files: ['public/index.html'] }]);
  });

  it('ignore-file changes rebuild and ask for fresh classifiers', () => {
    const p = plan(input([w('/p/hello/.gitignore')]));
    expect(p.refreshRules).toBe(true);
    expect(p.actions[0]).toMatchObject({ kind: 'rebuild', compile: true });
  });

  it('touches several artifacts independently', () => {
    const p = plan(input([w('/p/quote/www/index.html'), w('/p/hello/public/x.html')]));
    expect(p.actions.map((a) => `${a.kind}:${a.image}`)).toEqual(['sync:hello', 'rebuild:quote']);
    expect(p.reason).toBe('sync hello: public/x.html changed; rebuild quote: www/index.html changed');
  });

  it('a refused sync destination rebuilds and says why', () => {
    const rules = hello({ sync: compileSyncRules([{ src: 'public/**', dest: 'relative/dir' }]) });
    const p = plan(input([w('/p/hello/public/a.html')], { artifacts: [rules] }));
    expect(p.actions[0]).toMatchObject({ kind: 'rebuild', compile: false });
    expect(p.notes[0]).toMatch(/must be an absolute/);
  });

  it('10,000 changed files make one plan with a short reason', () => {
    const changes = Array.from({ length: 10_000 }, (_, i) => w(`/p/hello/src${i}.go`));
    const p = plan(input(changes));
    expect(p.actions).toHaveLength(1);
    expect(p.actions[0]!.files).toHaveLength(10_000);
    expect(p.reason).toBe('rebuild hello: src0.go and 9999 more changed');
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
