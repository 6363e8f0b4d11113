import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { LoadedConfig } from '../../src/config/types.js';
import { loadedConfig } from '../support/config.js';
import { noSelfWrites, plan, type FileChange } from '../../src/plan/index.js';
import { artifactRules } from '../../src/plan/rules.js';
import { createCoalescer } from '../../src/watch/coalesce.js';
import { isEditorTempFile, startWatcher, watchScope, type TriggerMode, type Watcher } from '../../src/watch/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function loaded(dir: string): LoadedConfig {
  return loadedConfig(dir, {
    metadata: { name: 't' },
    build: {
      concurrency: 1,
      artifacts: [
        {
          image: 'app',
          context: join(dir, 'app'),
          compile: { command: ['true'], inputs: [], env: {} },
          docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' },
          sync: [],
        },
      ],
    },
    manifests: ['k8s/*.yaml'],
    deploy: { statusCheck: { timeout: 1000 } },
  });
}

async function project(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-watch-'));
  await mkdir(join(dir, 'app/src'), { recursive: true });
  await mkdir(join(dir, 'app/bin'), { recursive: true });
  await mkdir(join(dir, 'app/node_modules/x'), { recursive: true });
  await mkdir(join(dir, 'app/.git/objects'), { recursive: true });
  await mkdir(join(dir, 'k8s/deep'), { recursive: true });
  await mkdir(join(dir, 'unrelated/sub'), { recursive: true });
  await writeFile(join(dir, 'app/.gitignore'), 'bin/\n');
  await writeFile(join(dir, 'app/main.go'), 'package main\n');
  await writeFile(join(dir, 'devloop.yaml'), 'x: 1\n');
  await writeFile(join(dir, 'k8s/app.yaml'), 'kind: x\n');
  return dir;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function watching(dir: string, trigger: TriggerMode = 'notify', debounceMs = 50) {
  const batches: FileChange[][] = [];
  const watcher: Watcher = startWatcher({
    scope: watchScope(loaded(dir)),
    trigger,
    debounceMs,
    intervalMs: 100,
    run: async (changes) => void batches.push(changes),
    onError: (e) => {
      throw e;
    },
  });
  cleanups.push(async () => {
    await watcher.close();
    await rm(dir, { recursive: true, force: true });
  });
  await watcher.ready;
  return { watcher, batches };
}

/** Waits until `check` holds (bounded), then a little longer to catch stray batches. */
async function settle(watcher: Watcher, ms = 300): Promise<void> {
  await sleep(ms);
  await watcher.idle();
}

describe('coalescer', () => {
  it('runs one batch after a burst, and exactly one follow-up for changes during a run', async () => {
    const runs: number[] = [];
    let release!: () => void;
    const c = createCoalescer({
      quietMs: 20,
      run: async (changes) => {
        runs.push(changes.length);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
      },
    });
    for (let i = 0; i < 80; i++) c.push({ path: `/f${i}`, kind: 'write' });
    await sleep(60);
    expect(runs).toEqual([80]);
    for (let i = 0; i < 50; i++) {
      c.push({ path: `/g${i}`, kind: 'write' });
      await sleep(1);
    }
    await sleep(60);
    expect(runs).toEqual([80]);
    release();
    await sleep(10);
    await c.idle();
    expect(runs).toEqual([80, 50]);
    c.close();
  });

  it('waits longer before splitting a burst of thousands of changes', async () => {
    const runs: number[] = [];
    const c = createCoalescer({ quietMs: 20, run: async (changes) => void runs.push(changes.length) });
    for (let i = 0; i < 1500; i++) c.push({ path: `/f${i}`, kind: 'write' });
    await sleep(400); // a pause a loaded machine can put into a `git checkout`
    expect(runs).toEqual([]);
    for (let i = 0; i < 500; i++) c.push({ path: `/g${i}`, kind: 'write' });
    await sleep(1_200);
    await c.idle();
    expect(runs).toEqual([2000]);
    c.close();
  });

  it('hands waiting changes over with drain()', () => {
    const c = createCoalescer({ quietMs: 1000, run: async () => undefined });
    c.push({ path: '/a', kind: 'write' });
    expect(c.drain()).toEqual([{ path: '/a', kind: 'write' }]);
    expect(c.pending()).toBe(0);
    c.close();
  });

  it('manual mode runs only on flush; force runs an empty batch', async () => {
    const runs: [number, boolean][] = [];
    const c = createCoalescer({ quietMs: 5, manual: true, run: async (changes, forced) => void runs.push([changes.length, forced]) });
    c.push({ path: '/a', kind: 'write' });
    await sleep(30);
    expect(runs).toEqual([]);
    c.flush();
    await c.idle();
    expect(runs).toEqual([[1, false]]);
    c.flush(true);
    await c.idle();
    expect(runs).toEqual([[1, false], [0, true]]);
    c.close();
  });

  it('a failing run does not stop later batches', async () => {
    let n = 0;
    const c = createCoalescer({ quietMs: 5, run: async () => {
      if (n++ === 0) throw new Error('x');
    } });
    c.push({ path: '/a', kind: 'write' });
    await sleep(20);
    await c.idle();
    c.push({ path: '/b', kind: 'write' });
    await sleep(20);
    await c.idle();
    expect(n).toBe(2);
    c.close();
  });
});

describe('editor temp files', () => {
  it.each(['4913', '.main.go.swp', 'main.go~', '.#main.go', 'x.tmp', '.f.123.abc.tmp', 'a___jb_tmp___'])('%s is a temp file', (name) => {
    expect(isEditorTempFile(name)).toBe(true);
  });
  it.each(['main.go', 'index.html', 'tmp', 'Dockerfile'])('%s is not', (name) => expect(isEditorTempFile(name)).toBe(false));
});

describe('notify watcher', () => {
  it('does not enter ignored or unrelated folders', async () => {
    const dir = await project();
    const { watcher } = await watching(dir);
    // root, app, app/src, k8s (k8s/deep is beyond the manifest glob's depth); not bin/, node_modules/, .git/, unrelated/
    expect(watcher.watched()).toBe(4);
  });

  it('does not enter a folder ignored by a .gitignore ABOVE the context (up to the git root)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devloop-watch-'));
    await execa('git', ['init', '-q', dir]);
    await mkdir(join(dir, 'app/src'), { recursive: true });
    await mkdir(join(dir, 'app/out/deep'), { recursive: true });
    await mkdir(join(dir, 'k8s'), { recursive: true });
    await writeFile(join(dir, '.gitignore'), 'app/out/\n'); // in the repo root, not in the context
    await writeFile(join(dir, 'app/main.go'), 'package main\n');
    await writeFile(join(dir, 'devloop.yaml'), 'x: 1\n');
    await writeFile(join(dir, 'k8s/app.yaml'), 'kind: x\n');
    const scope = watchScope(loaded(dir));
    expect(scope.includeDir(join(dir, 'app/src'))).toBe(true);
    expect(scope.includeDir(join(dir, 'app/out'))).toBe(false);
    expect(scope.includeDir(join(dir, 'app/out/deep'))).toBe(false);
    const { watcher, batches } = await watching(dir);
    // root, app, app/src, k8s; not .git/, app/out/, app/out/deep/
    expect(watcher.watched()).toBe(4);
    await writeFile(join(dir, 'app/out/deep/app'), 'compiled');
    await writeFile(join(dir, 'app/out/app'), 'compiled');
    await settle(watcher);
    expect(batches).toEqual([]);
  });

  it('watches a Dockerfile outside the context and the .gitignore files above it, up to the git root', async () => {
    const top = await mkdtemp(join(tmpdir(), 'devloop-watch-'));
    await execa('git', ['init', '-q', top]);
    const dir = join(top, 'proj');
    for (const d of ['proj/app', 'proj/k8s', 'docker', 'other']) await mkdir(join(top, d), { recursive: true });
    await writeFile(join(dir, 'devloop.yaml'), 'x: 1\n');
    const config = loaded(dir);
    config.config.build.artifacts[0]!.docker!.dockerfile = '../../docker/Dockerfile';
    const scope = watchScope(config);
    expect(scope.roots).toEqual([top]);
    expect(scope.includeDir(join(top, 'docker'))).toBe(true);
    expect(scope.includeDir(join(top, 'other'))).toBe(false);
    const batches: FileChange[][] = [];
    const watcher = startWatcher({ scope, trigger: 'notify', debounceMs: 50, intervalMs: 100, run: async (c) => void batches.push(c), onError: (e) => { throw e; } });
    cleanups.push(async () => {
      await watcher.close();
      await rm(top, { recursive: true, force: true });
    });
    await watcher.ready;
    await writeFile(join(top, '.gitignore'), 'proj/app/out/\n');
    await writeFile(join(dir, '.gitignore'), 'app/tmp/\n');
    await writeFile(join(top, 'docker/Dockerfile'), 'FROM scratch\n');
    await writeFile(join(top, 'other/x'), '1');
    await settle(watcher);
    expect(new Set(batches.flat().map((c) => c.path))).toEqual(new Set([join(top, '.gitignore'), join(dir, '.gitignore'), join(top, 'docker/Dockerfile')]));
  });

  it('reports a save as one batch, and nothing for ignored trees', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir);
    await writeFile(join(dir, 'app/bin/hello'), 'binary');
    await writeFile(join(dir, 'app/node_modules/x/i.js'), '1');
    await writeFile(join(dir, 'unrelated/sub/a'), '1');
    await settle(watcher);
    expect(batches).toEqual([]);
    await writeFile(join(dir, 'app/main.go'), 'package main // v2\n');
    await settle(watcher);
    expect(batches).toHaveLength(1);
    expect(new Set(batches[0]!.map((c) => c.path))).toEqual(new Set([join(dir, 'app/main.go')]));
  });

  it('an editor atomic save (vim: 4913 probe, backup rename, rewrite) is one change of the real file', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir);
    const file = join(dir, 'app/main.go');
    await writeFile(join(dir, 'app/4913'), '');
    await unlink(join(dir, 'app/4913'));
    await writeFile(join(dir, 'app/.main.go.swp'), 'swap');
    await rename(file, file + '~');
    await writeFile(file, 'package main // v3\n');
    await unlink(file + '~');
    await settle(watcher);
    expect(batches).toHaveLength(1);
    const last = new Map(batches[0]!.map((c) => [c.path, c.kind]));
    expect([...last]).toEqual([[file, 'write']]);
    // swap file updates alone never make a batch
    await writeFile(join(dir, 'app/.main.go.swp'), 'swap2');
    await settle(watcher);
    expect(batches).toHaveLength(1);
  });

  it('a burst of 10,000 file writes is exactly one batch', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir, 'notify', 100);
    await mkdir(join(dir, 'app/src/gen'));
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(dir, `app/src/gen/f${i + j}.go`), `package gen // ${i + j}\n`)));
    }
    await settle(watcher, 500);
    expect(batches.map((b) => b.length + ' ' + b[0]?.path)).toHaveLength(1);
    expect(new Set(batches[0]!.map((c) => c.path)).size).toBe(10_000);
  }, 30_000);

  it('reports new folders with their files, deleted files and renamed folders', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir);
    await mkdir(join(dir, 'app/src/pkg'));
    await writeFile(join(dir, 'app/src/pkg/a.go'), 'package pkg\n');
    await settle(watcher);
    expect(batches.flat().map((c) => [c.path, c.kind])).toContainEqual([join(dir, 'app/src/pkg/a.go'), 'write']);
    batches.length = 0;
    await rename(join(dir, 'app/src/pkg'), join(dir, 'app/src/lib'));
    await settle(watcher);
    const kinds = batches.flat().map((c) => `${c.kind} ${c.path.slice(dir.length)}`);
    expect(kinds).toContain('deleteDir /app/src/pkg');
    expect(kinds).toContain('write /app/src/lib/a.go');
    batches.length = 0;
    await unlink(join(dir, 'app/src/lib/a.go'));
    await settle(watcher);
    expect(batches.flat().map((c) => `${c.kind} ${c.path.slice(dir.length)}`)).toEqual(['delete /app/src/lib/a.go']);
    // the renamed folder is watched
    await writeFile(join(dir, 'app/src/lib/b.go'), 'package lib\n');
    await settle(watcher);
    expect(batches.flat().map((c) => c.path)).toContain(join(dir, 'app/src/lib/b.go'));
  });

  it('sed -i (a temporary renamed onto the file) and a scratch file that comes and goes: a batch of main.go alone, a reason naming only it', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir, 'notify', 100);
    const main = join(dir, 'app/main.go');
    await execa('sed', ['-i', 's/main/main \\/\\/ v2/', main]);
    await writeFile(join(dir, 'app/scratch-123'), 'x');
    await unlink(join(dir, 'app/scratch-123'));
    await settle(watcher, 400);
    expect(batches).toHaveLength(1);
    expect(new Set(batches[0]!.map((c) => c.path))).toEqual(new Set([main]));
    const decided = plan({
      changes: batches[0]!,
      configFile: join(dir, 'devloop.yaml'),
      configDir: dir,
      isManifest: () => false,
      artifacts: loaded(dir).config.build.artifacts.map(artifactRules),
      state: { noSync: new Set(), syncedSinceBuild: new Set(), changedDuringLast: new Set(), selfWrites: noSelfWrites, built: new Set(['app']), deployed: true },
    });
    expect(decided.reason).toBe('rebuild app: main.go changed');
  });

  it('sees devloop.yaml and manifests', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir);
    await writeFile(join(dir, 'devloop.yaml'), 'x: 2\n');
    await writeFile(join(dir, 'k8s/app.yaml'), 'kind: y\n');
    await settle(watcher);
    expect(new Set(batches.flat().map((c) => c.path))).toEqual(new Set([join(dir, 'devloop.yaml'), join(dir, 'k8s/app.yaml')]));
  });
});

describe('polling watcher', () => {
  it('notices writes and deletions by polling, skipping ignored trees', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir, 'polling');
    await writeFile(join(dir, 'app/bin/hello'), 'binary');
    await writeFile(join(dir, 'app/main.go'), 'package main // polled\n');
    await settle(watcher, 600);
    expect(batches.flat().map((c) => c.path)).toEqual([join(dir, 'app/main.go')]);
    await unlink(join(dir, 'app/main.go'));
    await settle(watcher, 600);
    expect(batches.flat().map((c) => `${c.kind}`)).toEqual(['write', 'delete']);
  });
});

describe('manual trigger', () => {
  it('collects changes and runs only on flush', async () => {
    const dir = await project();
    const { watcher, batches } = await watching(dir, 'manual');
    await writeFile(join(dir, 'app/main.go'), 'package main // m\n');
    await settle(watcher);
    expect(batches).toEqual([]);
    expect(watcher.pending()).toBeGreaterThan(0);
    watcher.flush();
    await watcher.idle();
    expect(batches).toHaveLength(1);
  });
});
