/**
 * The daemonless build: base descriptor + one layer per `oci.layers[]` entry + config + manifest,
 * all in the local blob store (.devloop/oci, an OCI image layout). No registry writes here.
 */
import { ConfigError } from '../../errors.js';
import type { Emit } from '../../events/bus.js';
import type { ArtifactConfig, OciBuildConfig } from '../../config/types.js';
import type { RegistrySettings } from '../types.js';
import { sha256Digest } from '../../registry/blob-source.js';
import { resolveBase, type BaseImage } from './base.js';
import { buildImageConfig, buildManifest, canonicalBytes, parsePlatform, reproducibleEpoch, type NewLayer } from './image.js';
import { cachedLayer, DEFAULT_COMPRESSION, layerInputsDigest, rememberLayer, writeLayer, type LayerBlob, type LayerCompression } from './layer.js';
import { collectLayerFiles } from './sources.js';
import { writeCacheFile } from './cache-file.js';
import { blobPath } from './layer.js';

export interface AssembledImage {
  base: BaseImage;
  layers: (LayerBlob & NewLayer & { cached: boolean })[];
  configBytes: Buffer;
  manifestBytes: Buffer;
  manifestMediaType: string;
  /** sha256 of manifestBytes: the digest the registry must report. */
  manifestDigest: string;
}

export interface AssembleOptions {
  artifact: ArtifactConfig;
  /** .devloop/oci of the project. */
  store: string;
  settings: RegistrySettings;
  /** No-push builds reuse a cached base without asking the registry whether its tag moved. */
  preferCachedBase: boolean;
  emit: Emit;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** How new layers are packed (default gzip at level 6); see layerCompression in index.ts. */
  compression?: LayerCompression;
}

export function ociConfigOf(artifact: ArtifactConfig): OciBuildConfig {
  if (!artifact.oci) {
    throw new ConfigError('OCI_NOT_CONFIGURED', `artifact ${artifact.image} has no oci section`, { hint: 'add build.artifacts[].oci or use the docker builder' });
  }
  return artifact.oci;
}

export async function assembleImage(options: AssembleOptions): Promise<AssembledImage> {
  const { artifact, store, emit } = options;
  const oci = ociConfigOf(artifact);
  const platform = parsePlatform(oci.platform || 'linux/amd64'); // buildOciImage sets the target platform
  const epoch = reproducibleEpoch(options.env);
  const base = await resolveBase(oci.from, platform, store, {
    settings: options.settings,
    preferCache: options.preferCachedBase,
    signal: options.signal,
    env: options.env,
  });

  const layers: AssembledImage['layers'] = [];
  for (const [i, layer] of oci.layers.entries()) {
    const files = await collectLayerFiles(artifact.context, layer);
    const compression = options.compression ?? DEFAULT_COMPRESSION;
    const key = layerInputsDigest(layer, files, epoch, compression);
    const createdBy = `devloop layer ${layer.from} → ${layer.to}`;
    const hit = await cachedLayer(store, key);
    const blob = hit ?? (await writeLayer(store, files, epoch, options.signal, compression));
    if (!hit) await rememberLayer(store, key, blob);
    layers.push({ ...blob, createdBy, cached: Boolean(hit) });
    emit({
      type: 'progress',
      stage: 'build',
      artifact: artifact.image,
      message: `layer ${i + 1}/${oci.layers.length} ${layer.from} → ${layer.to}: ${hit ? 'unchanged' : 'built'} (${files.length} entries, ${blob.size} bytes)`,
      current: i + 1,
      total: oci.layers.length,
    });
  }

  const configBytes = canonicalBytes(buildImageConfig(base.config, oci, platform, layers, epoch));
  const configDigest = sha256Digest(configBytes);
  const manifest = buildManifest(base.family, { digest: configDigest, size: configBytes.length }, base.layers, layers);
  const manifestBytes = canonicalBytes(manifest);
  const manifestDigest = sha256Digest(manifestBytes);
  // Config and manifest join the layers in the store so it is a complete OCI layout for our blobs.
  await writeCacheFile(blobPath(store, configDigest), configBytes);
  await writeCacheFile(blobPath(store, manifestDigest), manifestBytes);
  return { base, layers, configBytes, manifestBytes, manifestMediaType: manifest.mediaType!, manifestDigest };
}
