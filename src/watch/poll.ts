/** `--trigger polling`: chokidar's stat polling, for file systems without change events (NFS, some VMs). */
import { watch } from 'chokidar';
import type { Stats } from 'node:fs';
import { basename } from 'node:path';
import { isEditorTempFile } from './editor.js';
import type { WatchChange } from './transient.js';
import type { RawWatcher } from './native.js';
import type { WatchScope } from './scope.js';

export function watchPolling(scope: WatchScope, intervalMs: number, onChange: (change: WatchChange) => void, onError: (error: Error) => void): RawWatcher {
  const roots = new Set(scope.roots);
  const watcher = watch(scope.roots, {
    ignoreInitial: true,
    usePolling: true,
    interval: intervalMs,
    binaryInterval: intervalMs,
    ignored: (path: string, stats?: Stats) => {
      if (roots.has(path)) return false;
      if (isEditorTempFile(basename(path))) return true;
      // Without stats chokidar asks before it knows the type: answer for a folder only when it is one.
      return stats?.isDirectory() ? !scope.includeDir(path) : false;
    },
  });
  watcher.on('add', (path) => onChange({ path, kind: 'write', named: true }));
  watcher.on('change', (path) => onChange({ path, kind: 'write' }));
  watcher.on('unlink', (path) => onChange({ path, kind: 'delete', named: true }));
  watcher.on('unlinkDir', (path) => onChange({ path, kind: 'deleteDir' }));
  watcher.on('error', (error) => onError(error instanceof Error ? error : new Error(String(error))));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    busy: () => false,
    watched: () => Object.values(watcher.getWatched()).reduce((n, names) => n + names.length, 0),
    close: () => watcher.close(),
  };
}
