/**
 * What a built image runs (its config's Entrypoint and Cmd) and whether it has `/bin/sh`, read from
 * the registry it was pushed to: the supervisor needs both (live update). Layers are scanned for
 * `bin/sh` from the top one down, each layer once: the verdict per layer digest is kept in
 * `.devloop/live-update/layers.json`, so after the first build only the new (application) layers
 * are read.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { BuildResult, RegistrySettings } from '../build/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { RegistryClient } from '../registry/client.js';
import { isIndexMediaType, type Descriptor } from '../registry/media-types.js';
import type { ImageConfigJson, IndexJson, ManifestJson } from '../build/oci/image.js';

export type ImageProcess =
  | { ok: true; entrypoint: string[]; cmd: string[] }
  /** The image cannot be supervised: why, for the one warning. */
  | { ok: false; reason: string };

/** What one layer does to /bin/sh. */
type ShellVerdict = 'sh' | 'removed' | 'none';

export async function inspectImageProcess(build: BuildResult, settings: RegistrySettings, projectDir: string, signal?: AbortSignal): Promise<ImageProcess> {
  if (!build.digest) return { ok: false, reason: 'the image was loaded into the cluster without a registry, where devloop reads its config' };
  const client = RegistryClient.forRepository(build.repo, settings, { signal });
  let manifest = await client.getManifest(build.digest);
  if (isIndexMediaType(manifest.mediaType)) {
    // Every platform of one build has the same command and the same base layout: read the first.
    const index = JSON.parse(manifest.bytes.toString('utf8')) as IndexJson;
    const first = index.manifests.find((m) => m.platform?.os !== 'unknown');
    if (!first) return { ok: false, reason: 'its index lists no image' };
    manifest = await client.getManifest(first.digest);
  }
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as ManifestJson;
  const config = JSON.parse((await client.getBlob(parsed.config.digest)).toString('utf8')) as ImageConfigJson;
  const entrypoint = config.config?.Entrypoint ?? [];
  const cmd = config.config?.Cmd ?? [];
  if (entrypoint.length + cmd.length === 0) return { ok: false, reason: 'its config names no command (Entrypoint/Cmd) for the supervisor to run' };
  if (!(await hasShell(client, parsed.layers, projectDir))) return { ok: false, reason: 'it has no /bin/sh to run the supervisor (e.g. FROM scratch or distroless)' };
  return { ok: true, entrypoint, cmd };
}

async function hasShell(client: RegistryClient, layers: readonly Descriptor[], projectDir: string): Promise<boolean> {
  const file = join(projectDir, '.devloop', 'live-update', 'layers.json');
  let cache: Record<string, ShellVerdict> = {};
  try {
    cache = JSON.parse(await readFile(file, 'utf8')) as Record<string, ShellVerdict>;
  } catch {
    cache = {}; // first use, or unreadable: recomputed
  }
  let changed = false;
  let found = false;
  for (const layer of [...layers].reverse()) {
    let verdict = cache[layer.digest];
    if (!verdict) {
      verdict = shellIn(await client.getBlob(layer.digest), layer.mediaType);
      cache[layer.digest] = verdict;
      changed = true;
    }
    if (verdict !== 'none') {
      found = verdict === 'sh';
      break;
    }
  }
  if (changed) await writeFileAtomic(file, JSON.stringify(cache), { fsync: false });
  return found;
}

/** Reads a layer's tar headers: does it add `bin/sh` (or `usr/bin/sh`, for merged-/usr bases), or remove it? */
export function shellIn(blob: Buffer, mediaType: string): ShellVerdict {
  let tar: Buffer;
  if (mediaType.endsWith('gzip') || (blob[0] === 0x1f && blob[1] === 0x8b)) tar = gunzipSync(blob);
  else if (mediaType.endsWith('.tar') || mediaType.endsWith('tar.v1') || !mediaType.includes('+')) tar = blob;
  else return 'none'; // zstd and others: unknown to devloop, judged by the layers below
  let verdict: ShellVerdict = 'none';
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8) || 0;
    const path = name.replace(/^\.?\/+/, '').replace(/^\.\//, '');
    if (path === 'bin/sh' || path === 'usr/bin/sh') verdict = 'sh';
    else if ((path === 'bin/.wh.sh' || path === 'usr/bin/.wh.sh' || path === '.wh.bin') && verdict === 'none') verdict = 'removed';
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return verdict;
}
