/**
 * Content hashes of input files, remembered by (path, size, mtime) so a no-op build stats files
 * instead of reading them. Like git's index it guards against "racy" entries: a hash is only
 * remembered when the file's mtime was well before the moment it was hashed, because a write
 * within the same mtime tick would otherwise go unnoticed.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';

const VERSION = 1;
const RACY_MS = 2_000;
const MAX_ENTRIES = 100_000;

/** [size, mtimeMs, sha256 hex] */
type Entry = [number, number, string];

export interface FileStamp {
  size: number;
  mtimeMs: number;
}

export class FileHashCache {
  private readonly touched = new Map<string, Entry>();
  private changed = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly stored: Map<string, Entry>,
  ) {}

  /** An in-memory cache (nothing persisted). */
  static memory(): FileHashCache {
    return new FileHashCache(undefined, new Map());
  }

  /** Loads `file`; a missing or unreadable file is an empty cache (it is only an optimisation). */
  static async load(file: string): Promise<FileHashCache> {
    let stored = new Map<string, Entry>();
    try {
      const data = JSON.parse(await readFile(file, 'utf8')) as { version?: number; files?: Record<string, Entry> };
      if (data.version === VERSION && data.files && typeof data.files === 'object') stored = new Map(Object.entries(data.files));
    } catch {
      // start empty
    }
    return new FileHashCache(file, stored);
  }

  lookup(absPath: string, stamp: FileStamp): string | undefined {
    const entry = this.touched.get(absPath) ?? this.stored.get(absPath);
    if (!entry || entry[0] !== stamp.size || entry[1] !== stamp.mtimeMs || typeof entry[2] !== 'string') return undefined;
    this.touched.set(absPath, entry);
    return entry[2];
  }

  record(absPath: string, stamp: FileStamp, hash: string, hashedAt = Date.now()): void {
    if (hashedAt - stamp.mtimeMs <= RACY_MS) return;
    this.touched.set(absPath, [stamp.size, stamp.mtimeMs, hash]);
    this.changed = true;
  }

  /** Writes the cache when new hashes were recorded; failures are ignored (it is only an optimisation). */
  async save(): Promise<void> {
    if (!this.file || !this.changed) return;
    const files: Record<string, Entry> = Object.fromEntries(this.touched);
    let count = this.touched.size;
    for (const [path, entry] of this.stored) {
      if (count >= MAX_ENTRIES) break;
      if (!(path in files)) {
        files[path] = entry;
        count += 1;
      }
    }
    try {
      await writeFileAtomic(this.file, JSON.stringify({ version: VERSION, files }));
      this.changed = false;
    } catch {
      // disk full or read-only: the next build hashes the files again
    }
  }
}

/** The process-wide in-memory cache used when a caller passes none. */
export const processHashCache = FileHashCache.memory();
