import { describe, expect, it } from 'vitest';
import type { FileChange } from '../../src/plan/index.js';
import { createCoalescer } from '../../src/watch/coalesce.js';
import { withoutTransient } from '../../src/watch/transient.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('files created and removed within one batch', () => {
  it('are dropped; a file that existed before keeps its deletion; one re-created stays', async () => {
    const present = new Set(['/p/main.go', '/p/again.txt']);
    const batch = [
      { path: '/p/sedAbc123', kind: 'write' as const, named: true },
      { path: '/p/sedAbc123', kind: 'write' as const },
      { path: '/p/main.go', kind: 'write' as const, named: true },
      { path: '/p/sedAbc123', kind: 'delete' as const, named: true },
      // modified, then deleted: it existed before the batch, the deletion is real
      { path: '/p/old.go', kind: 'write' as const },
      { path: '/p/old.go', kind: 'delete' as const, named: true },
      // created, deleted, created again: it exists at flush time
      { path: '/p/again.txt', kind: 'write' as const, named: true },
      { path: '/p/again.txt', kind: 'delete' as const, named: true },
      { path: '/p/again.txt', kind: 'write' as const, named: true },
      // deleted only: it existed before
      { path: '/p/gone.go', kind: 'delete' as const, named: true },
      // seen only as gone, twice (the watcher looked after sed had renamed it away): came and went
      { path: '/p/sedLate99', kind: 'delete' as const, named: true },
      { path: '/p/sedLate99', kind: 'write' as const },
      { path: '/p/sedLate99', kind: 'delete' as const, named: true },
    ];
    const result = await withoutTransient(batch, async (path) => present.has(path));
    expect(result).toEqual([
      { path: '/p/main.go', kind: 'write' },
      { path: '/p/old.go', kind: 'write' },
      { path: '/p/old.go', kind: 'delete' },
      { path: '/p/again.txt', kind: 'write' },
      { path: '/p/again.txt', kind: 'delete' },
      { path: '/p/again.txt', kind: 'write' },
      { path: '/p/gone.go', kind: 'delete' },
    ]);
  });

  it('a batch of only transient files runs nothing', async () => {
    const runs: FileChange[][] = [];
    const c = createCoalescer({ quietMs: 20, run: async (changes) => void runs.push(changes) });
    c.push({ path: '/nowhere/devloop-test/.x.tmp1', kind: 'write', named: true });
    c.push({ path: '/nowhere/devloop-test/.x.tmp1', kind: 'write' });
    c.push({ path: '/nowhere/devloop-test/.x.tmp1', kind: 'delete', named: true });
    await sleep(60);
    await c.idle();
    expect(runs).toEqual([]);
    c.close();
  });

  it('pending counts distinct paths, leaves out one that came and went, and drops to 0 when the batch is taken', async () => {
    const pending: number[] = [];
    const c = createCoalescer({ quietMs: 20, run: async () => undefined, onPending: (n) => pending.push(n) });
    c.push({ path: '/p/main.go', kind: 'write' });
    c.push({ path: '/p/main.go', kind: 'write' });
    c.push({ path: '/p/sedX', kind: 'write', named: true });
    expect(c.pending()).toBe(2);
    c.push({ path: '/p/sedX', kind: 'delete', named: true });
    expect(c.pending()).toBe(1);
    await sleep(60);
    await c.idle();
    expect(pending).toEqual([1, 2, 1, 0]);
    c.close();
  });
});
