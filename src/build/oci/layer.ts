/**
 * Turns a layer's files into a tar blob (gzip'd, or not: see LayerCompression) in the local blob
 * store, streaming (a large binary is never held in memory whole), and remembers it by the digest of
 * its inputs so an unchanged layer is neither re-tarred nor re-hashed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { DevloopError } from '../../errors.js';
import { writeCacheFile } from './cache-file.js';
import type { OciLayerConfig } from '../../config/types.js';
import type { LayerFile } from './sources.js';
import { padding, tarHeader, tarTrailer } from './tar.js';

/** The default gzip level (what `oci.gzipLevel` defaults to). */
export const GZIP_LEVEL = 6;
/** Gzip header OS byte: 255 ("unknown"), whatever platform zlib was built for. */
const GZIP_OS_UNKNOWN = 0xff;
/** Bump when the tar or gzip output changes, so old cache entries are not trusted. */
const LAYER_FORMAT = 'devloop-layer-v2';

/**
 * How a layer blob is stored and pushed: gzip at a fixed level, or the plain tar. Part of the layer
 * cache key; for a given setting the blob bytes, hence the digests, are reproducible.
 */
export type LayerCompression = { kind: 'gzip'; level: number } | { kind: 'none' };
export const DEFAULT_COMPRESSION: LayerCompression = { kind: 'gzip', level: GZIP_LEVEL };

export interface LayerBlob {
  /** sha256 of the blob as stored and pushed (the manifest descriptor digest). */
  digest: string;
  /** sha256 of the uncompressed tar (the config's rootfs diff_id); equals `digest` when not compressed. */
  diffId: string;
  /** Whether the blob is gzip'd (it is the plain tar otherwise): picks the layer's media type. */
  compressed: boolean;
  size: number;
  /** Where the blob lives in the store. */
  file: string;
}

/** The layer cache key: what went in, by path, mode, size, mtime and inode, plus the settings (compression included). */
export function layerInputsDigest(layer: OciLayerConfig, files: readonly LayerFile[], mtime: number, compression: LayerCompression = DEFAULT_COMPRESSION): string {
  const hash = createHash('sha256');
  const packing = compression.kind === 'gzip' ? `gzip-${compression.level}` : 'none';
  hash.update(JSON.stringify([LAYER_FORMAT, packing, mtime, layer.from, layer.to, layer.mode ?? null]));
  for (const f of files) hash.update(`\n${JSON.stringify([f.imagePath, f.type, f.mode, f.size, f.mtimeNs ?? '', f.ino ?? ''])}`);
  return `sha256:${hash.digest('hex')}`;
}

/** `<store>/blobs/sha256/<hex>`: the OCI image layout's blob path. */
export function blobPath(store: string, digest: string): string {
  return join(store, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** A cached layer for these inputs whose blob is still in the store, or undefined. */
export async function cachedLayer(store: string, inputsDigest: string): Promise<LayerBlob | undefined> {
  try {
    const entry = JSON.parse(await readFile(cacheEntryPath(store, inputsDigest), 'utf8')) as Omit<LayerBlob, 'file'>;
    const file = blobPath(store, entry.digest);
    if ((await stat(file)).size !== entry.size) return undefined;
    return { ...entry, file };
  } catch {
    return undefined;
  }
}

export async function rememberLayer(store: string, inputsDigest: string, blob: LayerBlob): Promise<void> {
  const { digest, diffId, compressed, size } = blob;
  await writeCacheFile(cacheEntryPath(store, inputsDigest), JSON.stringify({ digest, diffId, compressed, size }));
}

function cacheEntryPath(store: string, inputsDigest: string): string {
  return join(store, 'layer-cache', `${inputsDigest.slice('sha256:'.length)}.json`);
}

/**
 * Writes the tar (gzip'd unless `compression` says none) of `files` into the store. `mtime` (seconds)
 * stamps every entry. Files that change size while being read fail the build instead of producing a
 * torn layer.
 */
export async function writeLayer(
  store: string,
  files: readonly LayerFile[],
  mtime: number,
  signal?: AbortSignal,
  compression: LayerCompression = DEFAULT_COMPRESSION,
): Promise<LayerBlob> {
  const dir = join(store, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let tarSize = 0;
  let gzSize = 0;
  const hashTar = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      tarHash.update(chunk);
      tarSize += chunk.length;
      yield chunk;
    }
  };
  try {
    if (compression.kind === 'none') {
      await pipeline(tarStream(files, mtime), hashTar, createWriteStream(temp), { signal });
    } else {
      await pipeline(
        tarStream(files, mtime),
        hashTar,
        createGzip({ level: compression.level }),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of fixGzipHeader(source)) {
            gzHash.update(chunk);
            gzSize += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(temp),
        { signal },
      );
    }
    const diffId = `sha256:${tarHash.digest('hex')}`;
    const compressed = compression.kind !== 'none';
    const digest = compressed ? `sha256:${gzHash.digest('hex')}` : diffId;
    const file = blobPath(store, digest);
    await rename(temp, file);
    return { digest, diffId, compressed, size: compressed ? gzSize : tarSize, file };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function* tarStream(files: readonly LayerFile[], mtime: number): AsyncGenerator<Buffer> {
  for (const file of files) {
    yield tarHeader({ path: file.imagePath, type: file.type, mode: file.mode, size: file.size }, mtime);
    if (file.type !== 'file' || !file.source) continue;
    let read = 0;
    for await (const chunk of createReadStream(file.source, { highWaterMark: 1 << 20 })) {
      read += (chunk as Buffer).length;
      if (read > file.size) break;
      yield chunk as Buffer;
    }
    if (read !== file.size) {
      throw new DevloopError('OCI_FILE_CHANGED', `${file.source} changed while its layer was being written`, {
        hint: 'build again once the compile step or editor has finished writing',
      });
    }
    yield padding(file.size);
  }
  yield tarTrailer();
}

/**
 * zlib's gzip header carries an mtime and an OS byte that depend on the platform zlib was built
 * for; both are overwritten so the blob digest is the same on every machine.
 */
async function* fixGzipHeader(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of source) {
    if (!head) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 10) continue;
    head.writeUInt32LE(0, 4);
    head[9] = GZIP_OS_UNKNOWN;
    yield head;
    head = undefined;
  }
  if (head && head.length > 0) yield head;
}
