/**
 * The watch stage: raw file events (notify or polling) → coalesced batches → `run(changes)`.
 * `--trigger manual` watches the same way but runs a batch only on `flush()` (Enter).
 */
import type { FileChange } from '../plan/index.js';
import { createCoalescer } from './coalesce.js';
import { watchNative, type RawWatcher } from './native.js';
import { watchPolling } from './poll.js';
import type { WatchScope } from './scope.js';

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
  onError: (error: Error) => void;
}

export interface Watcher {
  /** Resolves when every folder is being watched. */
  ready: Promise<void>;
  /** Runs the pending changes now (manual trigger); `force` runs even with none (rebuild all). */
  flush(force?: boolean): void;
  pending(): number;
  /** Takes the waiting changes away; `push` adds changes as if they were seen (watcher hand-over). */
  drain(): FileChange[];
  push(change: FileChange): void;
  watched(): number;
  /** Resolves when no iteration runs and none is scheduled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function startWatcher(options: WatchOptions): Watcher {
  let raw: RawWatcher | undefined;
  const coalescer = createCoalescer({
    quietMs: options.debounceMs,
    manual: options.trigger === 'manual',
    run: options.run,
    busy: () => raw?.busy() ?? false,
  });
  const onChange = (change: FileChange): void => {
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
      coalescer.close();
      await raw.close();
    },
  };
}
