/**
 * Resolves `oci.from`: only the base's manifest (picking the platform from an index) and config
 * are fetched, and cached under .devloop/oci/base/. Base layers are reused by descriptor.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DevloopError } from '../../errors.js';
import { writeCacheFile } from './cache-file.js';
import type { RegistrySettings } from '../types.js';
import { RegistryClient } from '../../registry/client.js';
import { isIndexMediaType, isManifestMediaType, DOCKER_MANIFEST, type Descriptor } from '../../registry/media-types.js';
import { parseImageReference, type ImageReference } from '../../registry/reference.js';
import { formatPlatform, selectPlatform, type ImageConfigJson, type IndexJson, type ManifestFamily, type ManifestJson, type Platform } from './image.js';

export interface BaseImage {
  /** undefined for scratch. */
  reference?: ImageReference;
  family: ManifestFamily;
  layers: Descriptor[];
  config?: ImageConfigJson;
  /** Digest of the platform manifest used. */
  manifestDigest?: string;
}

interface CachedBase {
  from: string;
  platform: string;
  /** What the tag pointed at (index or manifest digest) when this was cached. */
  topDigest: string;
  manifestDigest: string;
  family: ManifestFamily;
  layers: Descriptor[];
  config: ImageConfigJson;
}

export interface ResolveBaseOptions {
  settings: RegistrySettings;
  /** Use a cached base without asking the registry whether the tag moved (no-push builds). */
  preferCache: boolean;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

const SCRATCH: BaseImage = { family: 'oci', layers: [] };

export async function resolveBase(from: string, platform: Platform, store: string, options: ResolveBaseOptions): Promise<BaseImage> {
  if (from === 'scratch' || from === '') return SCRATCH;
  const reference = parseImageReference(from);
  const cacheFile = join(store, 'base', `${createHash('sha256').update(`${from}\n${formatPlatform(platform)}`).digest('hex')}.json`);
  const cached = await readCache(cacheFile);
  const fromCache = (entry: CachedBase): BaseImage => ({
    reference,
    family: entry.family,
    layers: entry.layers,
    config: entry.config,
    manifestDigest: entry.manifestDigest,
  });
  if (cached && (options.preferCache || reference.digest)) return fromCache(cached);

  const name = `${reference.registry}/${reference.repository}${reference.digest ? `@${reference.digest}` : `:${reference.tag}`}`;
  try {
    const entry = await fetchBase(from, name, reference, platform, cached, options);
    if (entry === cached) return fromCache(entry);
    await writeCacheFile(cacheFile, JSON.stringify(entry));
    return fromCache(entry);
  } catch (error) {
    throw pullingBase(name, error);
  }
}

/** The base's manifest and config from its registry; `cached` itself when the tag still points there. */
async function fetchBase(
  from: string,
  name: string,
  reference: ImageReference,
  platform: Platform,
  cached: CachedBase | undefined,
  options: ResolveBaseOptions,
): Promise<CachedBase> {
  const client = RegistryClient.forRepository(`${reference.registry}/${reference.repository}`, options.settings, { signal: options.signal, env: options.env });
  const topDigest = await client.manifestDigest(reference.digest ?? reference.tag!);
  if (topDigest === undefined) {
    throw new DevloopError('OCI_BASE_NOT_FOUND', `base image ${name} not found`, {
      hint: `check oci.from; the image must exist in ${reference.registry} (push it there first)`,
    });
  }
  if (cached && cached.topDigest === topDigest) return cached;

  let manifest = await client.getManifest(topDigest);
  if (isIndexMediaType(manifest.mediaType)) {
    const index = JSON.parse(manifest.bytes.toString('utf8')) as IndexJson;
    manifest = await client.getManifest(selectPlatform(index, platform, name).digest);
  }
  if (!isManifestMediaType(manifest.mediaType)) {
    throw new DevloopError('OCI_BASE_UNSUPPORTED', `base image ${name} has an unsupported manifest type ${manifest.mediaType || '(none)'}`, {
      hint: 'use an image with an OCI or Docker v2 schema 2 manifest (re-push it with a current docker)',
    });
  }
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as ManifestJson;
  const config = JSON.parse((await client.getBlob(parsed.config.digest)).toString('utf8')) as ImageConfigJson;
  if (config.os && config.architecture && (config.os !== platform.os || config.architecture !== platform.architecture)) {
    throw new DevloopError('OCI_PLATFORM_UNAVAILABLE', `base image ${name} is ${config.os}/${config.architecture}, not ${formatPlatform(platform)}`, {
      hint: 'set oci.platform to match the base image, or use a multi-platform base',
    });
  }
  const entry: CachedBase = {
    from,
    platform: formatPlatform(platform),
    topDigest,
    manifestDigest: manifest.digest,
    family: manifest.mediaType === DOCKER_MANIFEST ? 'docker' : 'oci',
    layers: parsed.layers,
    config,
  };
  return entry;
}

/**
 * A registry failure while resolving oci.from names what was being done and which image: the
 * registry client's message already names the host that failed (which is not the push registry).
 */
function pullingBase(name: string, error: unknown): unknown {
  if (!(error instanceof DevloopError) || !error.code.startsWith('REGISTRY_')) return error;
  const code =
    error.code === 'REGISTRY_UNREACHABLE' || error.code === 'REGISTRY_TIMEOUT' ? 'BASE_IMAGE_UNREACHABLE' : error.code === 'REGISTRY_AUTH' ? 'BASE_IMAGE_AUTH' : error.code;
  return new DevloopError(code, `cannot pull base image ${name} (oci.from): ${error.message}`, { hint: error.hint, cause: error });
}

async function readCache(file: string): Promise<CachedBase | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CachedBase;
  } catch {
    return undefined;
  }
}
