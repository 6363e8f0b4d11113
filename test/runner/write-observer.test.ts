import { describe, expect, it } from 'vitest';
import { WriteObserver } from '../../src/runner/write-observer.js';

describe('WriteObserver (facts for the self-write rule)', () => {
  it('paths changed from the start of compile/build until the iteration ended, until they change again outside', () => {
    const writes = new WriteObserver();
    writes.observe('/p/before'); // no iteration: nobody's write
    writes.startWriters();
    writes.observe('/p/gen.go');
    writes.observe('/p/a.go');
    writes.endIteration();
    expect([...writes.changedDuringLast()].sort()).toEqual(['/p/a.go', '/p/gen.go']);
    writes.observe('/p/a.go'); // saved again while nothing builds: someone else's change
    expect([...writes.changedDuringLast()]).toEqual(['/p/gen.go']);
  });

  it('an iteration that builds nothing (sync, redeploy, a broken config) records nothing', () => {
    const writes = new WriteObserver();
    writes.startWriters();
    writes.observe('/p/x');
    writes.endIteration();
    writes.observe('/p/devloop.yaml'); // during the next iteration, which never starts building
    writes.endIteration();
    expect([...writes.changedDuringLast()]).toEqual([]);
  });
});
