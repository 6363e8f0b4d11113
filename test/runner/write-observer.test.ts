import { describe, expect, it } from 'vitest';
import { WriteObserver } from '../../src/runner/write-observer.js';

describe('WriteObserver (facts for the self-write rule)', () => {
  it('paths changed while an iteration ran, or just after it, until they change again while none runs', () => {
    const writes = new WriteObserver(60_000);
    writes.observe('/p/before'); // idle: nobody's iteration
    writes.start();
    writes.observe('/p/gen.go');
    writes.observe('/p/a.go');
    writes.end();
    writes.observe('/p/late.go'); // its event came after the end, within the latency window
    expect([...writes.changedDuringLast()].sort()).toEqual(['/p/a.go', '/p/gen.go', '/p/late.go']);
    writes.observe('/p/a.go'); // saved again while no iteration runs: someone else's change
    expect([...writes.changedDuringLast()].sort()).toEqual(['/p/gen.go', '/p/late.go']);
  });

  it('a new iteration starts a fresh record', () => {
    const writes = new WriteObserver(60_000);
    writes.start();
    writes.observe('/p/x');
    writes.end();
    writes.start();
    writes.end();
    expect([...writes.changedDuringLast()]).toEqual([]);
  });
});
