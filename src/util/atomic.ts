import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes `data` to `file` so that readers see either the old or the new content, never half:
 * write a sibling temp file, fsync it, rename over the target. On failure (disk full) the temp
 * file is removed and the old file is untouched. `fsync: false` skips the fsync, for files that
 * can be recomputed (caches): still never half-written, but maybe lost in a crash.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: { fsync?: boolean } = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      if (options.fsync !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
