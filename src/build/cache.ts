/**
 * The artifact cache, `.devloop/cache.json`: what was built (and pushed) for a given cache key, so
 * an unchanged artifact skips compile, build and push. Reads never fail (a corrupt file is a
 * warning and an empty cache); writes are atomic and a failed write is a warning, not an error.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TagPolicy } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { canonicalJson } from '../inputs/index.js';
import { writeFileAtomic } from '../util/atomic.js';

const CACHE_FILE = join('.devloop', 'cache.json');
const VERSION = 1;
/** Entries kept, newest first: enough to go back and forth between a few versions of each artifact. */
const MAX_ENTRIES = 200;

export interface CacheEntry {
  image: string;
  repo: string;
  tag: string;
  /** Registry manifest digest, when pushed. */
  digest?: string;
  /** Local image ID, when built by the Docker CLI. */
  imageId?: string;
  /** ISO time of the build. */
  builtAt: string;
}

interface CacheFile {
  version: number;
  entries: Record<string, CacheEntry>;
}

export interface CacheKeyParts {
  inputDigest: string;
  tagPolicy: TagPolicy;
  repo: string;
  builder: 'docker' | 'oci' | 'custom';
  destination: string;
  /** The resolved tag, except for clock-based policies (their tag only changes with the inputs). */
  tag?: string;
}

/** sha256 over the parts; the input digest already covers the builder config. */
export function cacheKey(parts: CacheKeyParts): string {
  return createHash('sha256').update(canonicalJson({ v: VERSION, ...parts })).digest('hex');
}

export type CacheWriter = (file: string, data: string) => Promise<void>;

function parseCache(text: string): CacheFile | undefined {
  try {
    const data = JSON.parse(text) as Partial<CacheFile> | null;
    if (!data || data.version !== VERSION || typeof data.entries !== 'object' || data.entries === null) return undefined;
    for (const entry of Object.values(data.entries)) {
      if (!entry || typeof entry.repo !== 'string' || typeof entry.tag !== 'string') return undefined;
    }
    return data as CacheFile;
  } catch {
    return undefined;
  }
}

/** The cache of one project, shared by concurrent artifact builds; writes are serialised. */
export class ArtifactCacheStore {
  private writing: Promise<void> = Promise.resolve();
  private warnedWrite = false;

  private constructor(
    readonly file: string,
    private readonly entries: Map<string, CacheEntry>,
    private readonly emit: Emit,
    private readonly writer: CacheWriter,
  ) {}

  static async open(projectDir: string, emit: Emit, writer: CacheWriter = writeFileAtomic): Promise<ArtifactCacheStore> {
    const file = join(projectDir, CACHE_FILE);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // no cache yet
    }
    let entries: Record<string, CacheEntry> = {};
    if (text !== undefined) {
      const parsed = parseCache(text);
      if (parsed) entries = parsed.entries;
      else emit({ type: 'notice', level: 'warn', message: `artifact cache ${CACHE_FILE} is unreadable or from another version; rebuilding it`, hint: 'this build does not use the cache; it is rewritten afterwards' });
    }
    return new ArtifactCacheStore(file, new Map(Object.entries(entries)), emit, writer);
  }

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  /** Records an entry and writes the file; resolves once written (or the failure was reported). */
  put(key: string, entry: CacheEntry): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    // Keep entries another devloop process wrote meanwhile; ours win.
    let merged = new Map<string, CacheEntry>();
    try {
      const onDisk = parseCache(await readFile(this.file, 'utf8'));
      if (onDisk) merged = new Map(Object.entries(onDisk.entries));
    } catch {
      // nothing on disk
    }
    for (const [key, entry] of this.entries) {
      merged.delete(key);
      merged.set(key, entry);
    }
    const newest = [...merged].sort(([, a], [, b]) => (a.builtAt < b.builtAt ? 1 : a.builtAt > b.builtAt ? -1 : 0)).slice(0, MAX_ENTRIES);
    const data: CacheFile = { version: VERSION, entries: Object.fromEntries(newest) };
    try {
      await this.writer(this.file, JSON.stringify(data, null, 1) + '\n');
    } catch (error) {
      if (this.warnedWrite) return;
      this.warnedWrite = true;
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      this.emit({
        type: 'notice',
        level: 'warn',
        message: `could not write the artifact cache ${CACHE_FILE} (${reason}); the build result stands`,
        hint: reason === 'ENOSPC' ? 'the disk is full: free some space so the next build can skip unchanged artifacts' : 'check that .devloop/ is writable',
      });
    }
  }
}
