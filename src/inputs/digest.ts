/**
 * The input digest: sha256 over the sorted input files (path, normalised mode, content hash) and
 * the builder config. Nothing machine-specific goes in (no absolute paths, mtimes, owners or umask
 * bits), so two clones with the same inputs get the same digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { ArtifactConfig } from '../config/types.js';
import type { InputFile } from './walk.js';
import { processHashCache, type FileHashCache } from './hash-cache.js';
import { mapBounded } from '../util/concurrency.js';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Git's view of a mode: symlink, executable or plain. Umask differences between machines vanish. */
function normalizedMode(mode: number): number {
  if ((mode & S_IFMT) === S_IFLNK) return S_IFLNK;
  return mode & 0o111 ? 0o100755 : 0o100644;
}

async function contentHash(absPath: string, file: InputFile, cache: FileHashCache): Promise<string> {
  const known = cache.lookup(absPath, file);
  if (known) return known;
  const hash = createHash('sha256');
  if ((file.mode & S_IFMT) === S_IFLNK) {
    hash.update(await readlink(absPath));
  } else if (file.size > 1024 * 1024) {
    for await (const chunk of createReadStream(absPath)) hash.update(chunk as Buffer);
  } else {
    // Small files synchronously: no thread-pool round trip per file (see walkInputs).
    hash.update(readFileSync(absPath));
  }
  const digest = hash.digest('hex');
  cache.record(absPath, file, digest);
  return digest;
}

/** JSON with sorted object keys, so the digest does not depend on key order in devloop.yaml. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The builder config that shapes the image, with paths made relative to the context. */
async function builderConfigFingerprint(artifact: ArtifactConfig): Promise<string> {
  const config: Record<string, unknown> = { compile: artifact.compile ?? null };
  if (artifact.docker) {
    const dockerfile = resolve(artifact.context, artifact.docker.dockerfile);
    const content = await readFile(dockerfile).catch(() => undefined);
    config.docker = {
      dockerfile: relative(artifact.context, dockerfile).split(sep).join('/'),
      dockerfileSha256: content ? createHash('sha256').update(content).digest('hex') : 'missing',
      buildArgs: artifact.docker.buildArgs,
      target: artifact.docker.target,
    };
  }
  if (artifact.oci) config.oci = artifact.oci;
  if (artifact.custom) config.custom = artifact.custom;
  return canonicalJson(config);
}

/** `sha256:<hex>` over the files' paths, modes and contents plus the builder config. */
export async function digestInputs(artifact: ArtifactConfig, files: InputFile[], cache: FileHashCache = processHashCache, platforms?: readonly string[]): Promise<string> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hashes = await mapBounded(sorted, 32, (file) => contentHash(join(artifact.context, file.path), file, cache));
  const hash = createHash('sha256');
  hash.update('devloop-inputs-v1\n');
  sorted.forEach((file, i) => hash.update(`${file.path}\0${normalizedMode(file.mode).toString(8)}\0${hashes[i]}\n`));
  hash.update('\0builder\0');
  hash.update(await builderConfigFingerprint(artifact));
  // The same sources make another image for another architecture.
  if (platforms?.length) hash.update(`\0platforms\0${[...platforms].sort().join(',')}`);
  return `sha256:${hash.digest('hex')}`;
}
