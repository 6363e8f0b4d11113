import { writeFileAtomic } from '../../util/atomic.js';

/**
 * Writes a cache file atomically (temp file + rename) but without fsync: everything in the store
 * can be recomputed, and readers treat an unreadable entry as a miss, so durability is not worth
 * the tens of milliseconds an fsync costs on every build of the dev loop.
 */
export async function writeCacheFile(file: string, data: string | Uint8Array): Promise<void> {
  await writeFileAtomic(file, data, { fsync: false });
}
