/**
 * Turns a layer's files into a gzip'd tar blob in the local blob store, streaming (a large binary
 * is never held in memory whole), and remembers it by the digest of its inputs so an unchanged
 * layer is neither re-tarred nor re-hashed.
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

/** Fixed compression settings: part of what makes a layer digest reproducible. */
export const GZIP_LEVEL = 6;
/** Gzip header OS byte: 255 ("unknown"), whatever platform zlib was built for. */
const GZIP_OS_UNKNOWN = 0xff;
/** Bump when the tar or gzip output changes, so old cache entries are not trusted. */
const LAYER_FORMAT = 'devloop-layer-v1';

export interface LayerBlob {
  /** sha256 of the compressed blob (the manifest descriptor digest). */
  digest: string;
  /** sha256 of the uncompressed tar (the config's rootfs diff_id). */
  diffId: string;
  size: number;
  /** Where the blob lives in the store. */
  file: string;
}

/** The layer cache key: what went in, by path, mode, size, mtime and inode, plus the fixed settings. */
export function layerInputsDigest(layer: OciLayerConfig, files: readonly LayerFile[], mtime: number): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([LAYER_FORMAT, GZIP_LEVEL, mtime, layer.from, layer.to, layer.mode ?? null]));
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
  const { digest, diffId, size } = blob;
  await writeCacheFile(cacheEntryPath(store, inputsDigest), JSON.stringify({ digest, diffId, size }));
}

function cacheEntryPath(store: string, inputsDigest: string): string {
  return join(store, 'layer-cache', `${inputsDigest.slice('sha256:'.length)}.json`);
}

/**
 * Writes the tar.gz of `files` into the store. `mtime` (seconds) stamps every entry. Files that
 * change size while being read fail the build instead of producing a torn layer.
 */
export async function writeLayer(store: string, files: readonly LayerFile[], mtime: number, signal?: AbortSignal): Promise<LayerBlob> {
  const dir = join(store, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      tarStream(files, mtime),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          tarHash.update(chunk);
          yield chunk;
        }
      },
      createGzip({ level: GZIP_LEVEL }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of fixGzipHeader(source)) {
          gzHash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(temp),
      { signal },
    );
    const digest = `sha256:${gzHash.digest('hex')}`;
    const file = blobPath(store, digest);
    await rename(temp, file);
    return { digest, diffId: `sha256:${tarHash.digest('hex')}`, size, file };
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
