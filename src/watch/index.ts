/**
 * The watch stage: raw file events (notify or polling) → coalesced batches → `run(changes)`.
 * `--trigger manual` watches the same way but runs a batch only on `flush()` (Enter).
 */
import type { FileChange } from '../plan/index.js';
import { createCoalescer } from './coalesce.js';
import { watchNative, type RawWatcher } from './native.js';
import { watchPolling } from './poll.js';
import type { WatchScope } from './scope.js';
import type { WatchChange } from './transient.js';

export type { WatchScope } from './scope.js';
export { watchScope } from './scope.js';
export { isEditorTempFile } from './editor.js';

export type TriggerMode = 'notify' | 'polling' | 'manual';

export interface WatchOptions {
  scope: WatchScope;
  trigger: TriggerMode;
  /** Quiet period before a batch runs. */
  debounceMs: number;
  /** Polling interval with trigger "polling". */
  intervalMs: number;
  run: (changes: FileChange[], forced: boolean) => Promise<void>;
  /** Sees every change as it is noticed (before coalescing), e.g. to tell what changed while an iteration ran. */
  observe?: (change: FileChange) => void;
  /** Distinct paths waiting for the next iteration, when that changes: at once for the first and for 0, else at most every 250 ms. */
  onPending?: (count: number) => void;
  onError: (error: Error) => void;
}

export interface Watcher {
  /** Resolves when every folder is being watched. */
  ready: Promise<void>;
  /** Runs the pending changes now (manual trigger); `force` runs even with none (rebuild all). */
  flush(force?: boolean): void;
  pending(): number;
  /** Takes the waiting changes away; `push` adds changes as if they were seen (watcher hand-over). */
  drain(): WatchChange[];
  push(change: WatchChange): void;
  watched(): number;
  /** Resolves when no iteration runs and none is scheduled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function startWatcher(options: WatchOptions): Watcher {
  let raw: RawWatcher | undefined;
  const pending = options.onPending ? throttledCount(options.onPending, 250) : undefined;
  const coalescer = createCoalescer({
    quietMs: options.debounceMs,
    manual: options.trigger === 'manual',
    run: options.run,
    busy: () => raw?.busy() ?? false,
    onPending: pending?.report,
  });
  const onChange = (change: WatchChange): void => {
    options.observe?.(change);
    coalescer.push(change);
  };
  raw =
    options.trigger === 'polling'
      ? watchPolling(options.scope, options.intervalMs, onChange, options.onError)
      : watchNative(options.scope, onChange, options.onError);
  return {
    ready: raw.ready,
    flush: (force) => coalescer.flush(force),
    pending: () => coalescer.pending(),
    drain: () => coalescer.drain(),
    push: (change) => coalescer.push(change), // handed over: already observed
    watched: () => raw.watched(),
    idle: () => coalescer.idle(),
    async close() {
      pending?.stop();
      coalescer.close();
      await raw.close();
    },
  };
}

/** A burst of thousands of changes must not become thousands of events: the first and 0 at once, the rest at most every `ms`. */
function throttledCount(tell: (count: number) => void, ms: number): { report: (count: number) => void; stop: () => void } {
  let told = 0;
  let latest = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (latest !== told) tell((told = latest));
  };
  return {
    report(count) {
      latest = count;
      if (count === 0 || told === 0) {
        clearTimeout(timer);
        flush();
      } else timer ??= setTimeout(flush, ms);
    },
    stop: () => clearTimeout(timer),
  };
}
