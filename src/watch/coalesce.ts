/**
 * Turns a stream of file changes into iterations: after a quiet period (no change for `quietMs`,
 * longer for batches of hundreds of files) the collected batch runs as ONE iteration. Changes arriving while an iteration runs are kept and
 * become exactly one follow-up iteration (after its own quiet period). In manual mode batches run
 * only when `flush()` is called (Enter).
 */
import type { FileChange } from '../plan/index.js';
import { PendingPaths, withoutTransient, type WatchChange } from './transient.js';

export interface Coalescer {
  push(change: WatchChange): void;
  /** Runs the pending batch now (manual trigger); with `force`, even when it is empty. */
  flush(force?: boolean): void;
  /** Distinct paths waiting for the next iteration. */
  pending(): number;
  /** Takes the waiting changes away (handing them to a replacement watcher). */
  drain(): WatchChange[];
  /** Resolves when no iteration is running and none is scheduled. */
  idle(): Promise<void>;
  close(): void;
}

export function createCoalescer(options: {
  quietMs: number;
  manual?: boolean;
  run: (changes: FileChange[], forced: boolean) => Promise<void>;
  /** While true the source is still producing the burst's changes: wait another quiet period. */
  busy?: () => boolean;
  /** Told the number of distinct paths waiting whenever it changes (0 when a batch is taken). */
  onPending?: (count: number) => void;
}): Coalescer {
  let batch: WatchChange[] = [];
  let waiting = new PendingPaths();
  const setWaiting = (next: PendingPaths): void => {
    const before = waiting.count;
    waiting = next;
    if (waiting.count !== before) options.onPending?.(waiting.count);
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let forcedNext = false;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const schedule = (): void => {
    if (closed || running || options.manual) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(start, quiet());
  };

  // Big bursts come from tools (git checkout, npm install, generators) whose writes can pause
  // longer than a keystroke-sized quiet period under load: wait longer before splitting them.
  const quiet = (): number => {
    if (batch.length >= 1000) return Math.max(options.quietMs, 1000);
    if (batch.length >= 100) return Math.max(options.quietMs, 300);
    return options.quietMs;
  };

  const start = (): void => {
    timer = undefined;
    if (closed || running) return;
    if (batch.length === 0 && !forcedNext) return settle();
    if (!forcedNext && options.busy?.()) {
      timer = setTimeout(start, quiet());
      return;
    }
    const changes = batch;
    const forced = forcedNext;
    batch = [];
    setWaiting(new PendingPaths());
    forcedNext = false;
    running = withoutTransient(changes)
      .then((real) => (real.length > 0 || forced ? options.run(real, forced) : undefined))
      .catch(() => undefined) // the loop reports its own failures; it must never stop here
      .finally(() => {
        running = undefined;
        if (batch.length > 0 || forcedNext) {
          if (options.manual && !forcedNext) settle();
          else if (forcedNext) start();
          else schedule();
        } else settle();
      });
  };

  const settle = (): void => {
    if (running || timer) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  return {
    push(change) {
      if (closed) return;
      batch.push(change);
      if (waiting.add(change)) options.onPending?.(waiting.count);
      schedule();
    },
    flush(force = false) {
      if (closed) return;
      if (force) forcedNext = true;
      if (running) return;
      if (timer) clearTimeout(timer);
      start();
    },
    pending: () => waiting.count,
    drain() {
      const taken = batch;
      batch = [];
      setWaiting(new PendingPaths());
      return taken;
    },
    idle: () => (running || timer ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      settle();
    },
  };
}
