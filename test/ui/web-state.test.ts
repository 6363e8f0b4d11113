import { describe, expect, it } from 'vitest';
import type { DevloopEvent, DevloopEventBody } from '../../src/events/types.js';
import { WebState } from '../../src/ui/web/state.js';

let clock = Date.parse('2026-01-01T10:00:00Z');
const at = (body: DevloopEventBody): DevloopEvent => ({ ...body, time: new Date((clock += 10)).toISOString() }) as DevloopEvent;

function fold(state: WebState, bodies: DevloopEventBody[]): void {
  for (const body of bodies) state.apply(at(body));
}

describe('WebState', () => {
  it('follows each artifact through its stages, with its image reference and last failure', () => {
    const state = new WebState();
    fold(state, [
      { type: 'stage', stage: 'build', artifact: 'web', status: 'start' },
      { type: 'progress', stage: 'push', artifact: 'web', message: 'layer', current: 50, total: 200 },
    ]);
    expect(state.summary().artifacts).toEqual([expect.objectContaining({ image: 'web', stage: 'build', status: 'start', progress: { current: 50, total: 200 } })]);
    fold(state, [
      { type: 'stage', stage: 'build', artifact: 'web', status: 'end', durationMs: 1200 },
      { type: 'artifact', image: 'web', tag: '127.0.0.1:5000/web:abc@sha256:1', cached: false },
      { type: 'stage', stage: 'push', artifact: 'web', status: 'skipped', detail: 'cached' },
    ]);
    expect(state.summary().artifacts[0]).toMatchObject({ stage: 'push', status: 'skipped', detail: 'cached', tag: '127.0.0.1:5000/web:abc@sha256:1', cached: false });
    expect(state.summary().artifacts[0]!.progress).toBeUndefined();

    fold(state, [
      { type: 'stage', stage: 'compile', artifact: 'web', status: 'error', durationMs: 30 },
      { type: 'error', code: 'COMPILE_FAILED', message: 'go build exited with 1', artifact: 'web', stage: 'compile' },
    ]);
    expect(state.summary().artifacts[0]).toMatchObject({ stage: 'compile', status: 'error', error: 'go build exited with 1' });
    expect(state.summary().messages.at(-1)).toMatchObject({ level: 'error', code: 'COMPILE_FAILED', message: 'web compile: go build exited with 1' });
    // The next attempt clears the failure.
    fold(state, [{ type: 'stage', stage: 'compile', artifact: 'web', status: 'start' }]);
    expect(state.summary().artifacts[0]!.error).toBeUndefined();
  });

  it('keeps the latest state of each workload and forward', () => {
    const state = new WebState();
    fold(state, [
      { type: 'workload', resource: 'deployment/web', namespace: 'dev', state: 'waiting', message: 'web: 0/1 replicas ready' },
      { type: 'workload', resource: 'deployment/web', namespace: 'dev', state: 'ready', message: 'web: 1/1 replicas ready' },
      { type: 'forward', resource: 'service/web', port: 80, localPort: 8080, address: '127.0.0.1', status: 'ready', pod: 'web-1' },
      { type: 'forward', resource: 'service/api', port: 'http', localPort: 9090, address: '::1', status: 'reconnecting', message: 'pod gone' },
    ]);
    const summary = state.summary();
    expect(summary.workloads).toEqual([expect.objectContaining({ resource: 'deployment/web', namespace: 'dev', state: 'ready', message: 'web: 1/1 replicas ready' })]);
    expect(summary.forwards.map((f) => [f.resource, f.url, f.status])).toEqual([
      ['service/web', 'http://127.0.0.1:8080', 'ready'],
      ['service/api', 'http://[::1]:9090', 'reconnecting'],
    ]);
  });

  it('records iterations: stage times so far while running, the iteration\'s own list once done; the last N only', () => {
    const state = new WebState({ iterations: 2, linesPerPod: 10, pods: 10, messages: 10 });
    fold(state, [
      { type: 'iteration', n: 1, status: 'start', reason: 'initial build and deploy', changed: [] },
      { type: 'stage', stage: 'build', artifact: 'web', status: 'start' },
      { type: 'stage', stage: 'build', artifact: 'web', status: 'end', durationMs: 900 },
      { type: 'stage', stage: 'apply', status: 'end', durationMs: 40 },
    ]);
    expect(state.summary().iterations).toEqual([
      expect.objectContaining({ n: 1, status: 'running', reason: 'initial build and deploy', stages: [{ stage: 'build', durationMs: 900 }, { stage: 'apply', durationMs: 40 }] }),
    ]);
    fold(state, [
      { type: 'iteration', n: 1, status: 'ok', durationMs: 1000, stages: [{ stage: 'build', durationMs: 900 }, { stage: 'apply', durationMs: 40 }, { stage: 'status', durationMs: 50 }] },
      { type: 'iteration', n: 2, status: 'start', reason: 'rebuild web', changed: Array.from({ length: 30 }, (_, i) => `f${i}`) },
      { type: 'iteration', n: 2, status: 'error', durationMs: 300, reason: 'build failed', stages: [{ stage: 'build', durationMs: 290 }] },
      { type: 'iteration', n: 3, status: 'start', reason: 'sync web' },
    ]);
    const iterations = state.summary().iterations;
    expect(iterations.map((i) => [i.n, i.status])).toEqual([
      [2, 'error'],
      [3, 'running'],
    ]);
    expect(iterations[0]).toMatchObject({ reason: 'rebuild web', error: 'build failed', durationMs: 300, changedCount: 30 });
    expect(iterations[0]!.changed).toHaveLength(20);
  });

  it('keeps the last lines per pod, drops the stream quiet the longest, and returns lines in arrival order', () => {
    const state = new WebState({ iterations: 10, linesPerPod: 3, pods: 2, messages: 10 });
    const log = (pod: string, line: string): DevloopEventBody => ({ type: 'log', pod, container: 'app', line });
    fold(state, [log('a', 'a1'), log('b', 'b1'), log('a', 'a2'), log('a', 'a3'), log('a', 'a4'), log('b', 'b2')]);
    expect(state.logs().map((l) => l.line)).toEqual(['b1', 'a2', 'a3', 'a4', 'b2']);
    expect(state.summary().streams).toEqual([
      { pod: 'a', container: 'app', kept: 3, seen: 4 },
      { pod: 'b', container: 'app', kept: 2, seen: 2 },
    ]);
    // A third pod: `a` has been quiet longer than `b`, so it goes.
    fold(state, [log('c', 'c1')]);
    expect(state.summary().streams.map((s) => s.pod)).toEqual(['b', 'c']);
    expect(state.logs().map((l) => l.line)).toEqual(['b1', 'b2', 'c1']);
    // Command output (compile, docker build) is not a pod's log.
    expect(state.apply(at({ type: 'log', line: 'Step 1/3', artifact: 'web', stage: 'build' }))).toBeUndefined();
  });

  it('says what an event changed', () => {
    const state = new WebState();
    expect(state.apply(at({ type: 'log', pod: 'p', container: 'c', line: 'hello' }))).toMatchObject({ kind: 'log', line: { pod: 'p', container: 'c', line: 'hello', seq: 1 } });
    expect(state.apply(at({ type: 'notice', level: 'info', message: 'watching' }))).toEqual({ kind: 'summary' });
    expect(state.apply(at({ type: 'progress', stage: 'status', resource: 'deployment/web', message: 'waiting' }))).toBeUndefined();
  });
});
