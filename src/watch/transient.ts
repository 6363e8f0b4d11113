/**
 * Files that come and go within one batch (editor swap and backup files, `sed -i` temporaries,
 * a tool's scratch files) changed nothing: they are dropped when the batch is flushed, so changed-file
 * lists and the reason line ("main.go and 1 more changed") count only real changes.
 */
import { lstat } from 'node:fs/promises';
import type { FileChange } from '../plan/index.js';

/**
 * A change as the raw watchers report it. `named`: the event was about the name coming or going (a
 * creation, a deletion, a move in or out: inotify's "rename", chokidar's add/unlink), as opposed to
 * a write into an existing file.
 */
export interface WatchChange extends FileChange {
  named?: boolean;
}

const exists = (path: string): Promise<boolean> => lstat(path).then(
  () => true,
  () => false,
);

/**
 * Drops every change of a path that came and went within the batch: it does not exist now, its first
 * change is its name coming, and its name came or went at least twice (came, then went). A file that
 * existed before the batch has a single "went" (or starts with a write into it): its deletion is kept.
 * (A file that existed, was replaced by a rename onto it and then deleted, all in one quiet period, is
 * taken for a temporary: rare enough, and the next change to anything of that artifact rebuilds.)
 */
export async function withoutTransient(batch: readonly WatchChange[], pathExists: (path: string) => Promise<boolean> = exists): Promise<FileChange[]> {
  const first = new Map<string, WatchChange>();
  const named = new Map<string, number>();
  for (const change of batch) {
    if (!first.has(change.path)) first.set(change.path, change);
    if (change.named) named.set(change.path, (named.get(change.path) ?? 0) + 1);
  }
  const candidates = [...named].filter(([path, count]) => count >= 2 && first.get(path)!.named).map(([path]) => path);
  const gone = new Set<string>();
  await Promise.all(
    candidates.map(async (path) => {
      if (!(await pathExists(path))) gone.add(path);
    }),
  );
  return batch.filter((change) => !gone.has(change.path)).map(({ path, kind }) => ({ path, kind }));
}

/**
 * The distinct paths of a growing batch, for "N changed files pending": without those whose events
 * already say they came and went (first the name came, then it went); the flush confirms that on disk.
 */
export class PendingPaths {
  private readonly paths = new Map<string, { firstNamed: boolean; named: number; gone: boolean }>();
  private transient = 0;

  /** Adds a change; returns whether the count changed. */
  add(change: WatchChange): boolean {
    const before = this.count;
    let entry = this.paths.get(change.path);
    const was = entry ? cameAndWent(entry) : false;
    if (!entry) {
      entry = { firstNamed: Boolean(change.named), named: 0, gone: false };
      this.paths.set(change.path, entry);
    }
    if (change.named) entry.named += 1;
    entry.gone = change.kind === 'delete';
    this.transient += Number(cameAndWent(entry)) - Number(was);
    return this.count !== before;
  }

  get count(): number {
    return this.paths.size - this.transient;
  }
}

function cameAndWent(entry: { firstNamed: boolean; named: number; gone: boolean }): boolean {
  return entry.firstNamed && entry.named >= 2 && entry.gone;
}
