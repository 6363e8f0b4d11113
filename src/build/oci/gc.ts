/**
 * Keeps the blob store from growing with every edit: each artifact records the blobs of its last
 * image, and blobs nobody records (nor the layout's index.json) are deleted once they are old
 * enough that no concurrent build can still be about to reference them.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCacheFile } from './cache-file.js';
import { blobPath } from './layer.js';

/** Unreferenced blobs younger than this survive: another build may be between writing and recording them. */
const GC_GRACE_MS = 15 * 60 * 1000;

/** Records the digests (layers, config, manifest) the artifact's latest image uses. */
export async function recordArtifactBlobs(store: string, image: string, digests: readonly string[]): Promise<void> {
  const file = join(store, 'refs', `${createHash('sha256').update(image).digest('hex').slice(0, 32)}.json`);
  await writeCacheFile(file, JSON.stringify({ image, digests: [...digests].sort() }));
}

/** Deletes unreferenced blobs older than `graceMs`, and layer-cache entries whose blob is gone. Returns bytes freed. */
export async function collectGarbage(store: string, now = Date.now(), graceMs = GC_GRACE_MS): Promise<number> {
  const live = new Set<string>();
  for (const name of await list(join(store, 'refs'))) {
    const refs = await readJson<{ digests?: string[] }>(join(store, 'refs', name));
    for (const d of refs?.digests ?? []) live.add(d);
  }
  const index = await readJson<{ manifests?: { digest: string }[] }>(join(store, 'index.json'));
  for (const { digest } of index?.manifests ?? []) {
    live.add(digest);
    const manifest = await readJson<{ config?: { digest: string }; layers?: { digest: string }[] }>(blobPath(store, digest));
    if (manifest?.config) live.add(manifest.config.digest);
    for (const layer of manifest?.layers ?? []) live.add(layer.digest);
  }

  let freed = 0;
  const blobs = join(store, 'blobs', 'sha256');
  for (const hex of await list(blobs)) {
    if (hex.startsWith('.') || live.has(`sha256:${hex}`)) continue;
    const info = await stat(join(blobs, hex)).catch(() => undefined);
    if (!info || now - info.mtimeMs < graceMs) continue;
    await rm(join(blobs, hex), { force: true });
    freed += info.size;
  }
  for (const name of await list(join(store, 'layer-cache'))) {
    const entry = await readJson<{ digest?: string }>(join(store, 'layer-cache', name));
    const blobGone = !entry?.digest || !(await stat(blobPath(store, entry.digest)).catch(() => undefined));
    if (blobGone) await rm(join(store, 'layer-cache', name), { force: true });
  }
  return freed;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
