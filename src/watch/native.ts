/**
 * The notify watcher: one inotify watch per FOLDER (fs.watch on directories), never per file.
 * chokidar 5 keeps an fs.watch per file and lstat's every entry: on a 100,000-file tree that took
 * 20 s and 850 MB here, so `--trigger notify` uses this; `--trigger polling` uses chokidar.
 * Folders are listed with readdir's file types (no stat); a path is only stat'ed when an event
 * names it, to tell a new folder (watch it, report its files) from a file.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isEditorTempFile } from './editor.js';
import type { WatchChange } from './transient.js';
import { isBelow, type WatchScope } from './scope.js';

export interface RawWatcher {
  ready: Promise<void>;
  /** Folders (notify) or paths (polling) being watched. */
  watched(): number;
  /** True while events are still being examined (stat, new folder walk): not quiet yet. */
  busy(): boolean;
  close(): Promise<void>;
}

export function watchNative(scope: WatchScope, onChange: (change: WatchChange) => void, onError: (error: Error) => void): RawWatcher {
  const watchers = new Map<string, FSWatcher>();
  // Folders seen, kept until their parent reports them gone (a folder's own watcher may error first).
  const dirs = new Set<string>();
  let closed = false;
  let inFlight = 0;
  /** Paths being stat'ed after an event: later events of the same path wait for it. */
  const examining = new Map<string, Promise<void>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight++;
    return work.finally(() => inFlight--);
  };

  const report = (path: string, kind: WatchChange['kind'], named = false): void => {
    if (!closed) onChange(named ? { path, kind, named } : { path, kind });
  };

  /** Watches `dir` and the folders below it; with `announce`, reports the files found (a folder moved in). */
  async function addDir(dir: string, announce: boolean): Promise<void> {
    if (closed || watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (event, name) => onEvent(dir, event, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      onError(error as Error);
      return;
    }
    watcher.on('error', () => forget(dir)); // the folder went away; its parent reports that
    watchers.set(dir, watcher);
    dirs.add(dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const below: Promise<void>[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (scope.includeDir(path)) below.push(addDir(path, announce));
      } else if (announce && !isEditorTempFile(entry.name)) {
        report(path, 'write', true);
      }
    }
    await Promise.all(below);
  }

  function forget(dir: string, gone = false): void {
    for (const [path, watcher] of watchers) {
      if (path === dir || isBelow(dir, path)) {
        watcher.close();
        watchers.delete(path);
      }
    }
    if (gone) for (const path of dirs) if (path === dir || isBelow(dir, path)) dirs.delete(path);
  }

  function onEvent(dir: string, event: string, name: string | Buffer | null): void {
    if (closed) return;
    if (name === null) return void rescan(dir);
    const entry = name.toString();
    if (isEditorTempFile(entry)) return;
    const path = join(dir, entry);
    // Writes to a known file need no stat; creations, deletions and renames do. Reports of one path
    // keep the order of its events (a file's creation comes before the writes that follow it).
    const earlier = examining.get(path);
    if (event === 'change' && !dirs.has(path)) {
      if (!earlier) return report(path, 'write');
      return void earlier.then(() => report(path, 'write'));
    }
    const examined: Promise<void> = (earlier ?? Promise.resolve())
      .then(() => track(lstat(path)))
      .then(
        (stats) => {
          if (stats.isDirectory()) {
            if (!watchers.has(path) && scope.includeDir(path)) void track(addDir(path, true));
          } else report(path, 'write', event === 'rename');
        },
        () => {
          if (dirs.has(path)) {
            forget(path, true);
            report(path, 'deleteDir', event === 'rename');
            return undefined;
          }
          // A folder's own deletion also arrives here, named like itself: its parent reports that.
          return track(lstat(dir)).then(
            () => report(path, 'delete', event === 'rename'),
            () => undefined,
          );
        },
      )
      .finally(() => {
        if (examining.get(path) === examined) examining.delete(path);
      });
    examining.set(path, examined);
  }

  async function rescan(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) void addDir(join(dir, entry.name), true);
  }

  const ready = Promise.all(scope.roots.map((root) => addDir(root, false))).then(() => undefined);
  return {
    ready,
    watched: () => watchers.size,
    busy: () => inFlight > 0,
    async close() {
      closed = true;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
