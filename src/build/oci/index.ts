/**
 * The daemonless OCI builder (Jib/ko style): layers made from the context, laid on a base image
 * by descriptor, pushed straight to a registry. No Docker, no Dockerfile.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DevloopError } from '../../errors.js';
import { timedStage } from '../../events/bus.js';
import { writeFileAtomic } from '../../util/atomic.js';
import type { ImageBuilder, ImageBuildRequest } from '../types.js';
import { assembleImage, ociConfigOf, type AssembledImage } from './assemble.js';
import { pushImage } from './push.js';
import { collectGarbage, recordArtifactBlobs } from './gc.js';
import { sha256Digest } from '../../registry/blob-source.js';
import { RegistryClient } from '../../registry/client.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX } from '../../registry/media-types.js';
import { canonicalBytes, parsePlatform } from './image.js';
import { GZIP_LEVEL, type LayerCompression } from './layer.js';
import { isLoopbackHost, registryOf } from '../../registry/reference.js';
import type { OciBuildConfig } from '../../config/types.js';

/** Where the builder keeps its blob store / OCI image layout, below the project. */
function ociStoreDir(projectDir: string): string {
  return join(projectDir, '.devloop', 'oci');
}

export const ociBuilder: ImageBuilder = {
  kind: 'oci',
  build: buildOciImage,
};

async function buildOciImage(request: ImageBuildRequest): Promise<{ digest?: string }> {
  const { artifact, emit, signal } = request;
  const store = ociStoreDir(request.projectDir);
  const oci = ociConfigOf(artifact);
  // One image per target platform (the nodes' by default); oci.platform pins one.
  const platforms = oci.platform ? [oci.platform] : request.platforms?.length ? request.platforms : ['linux/amd64'];
  const compression = layerCompression(oci, request.repo, request.push);
  const built: AssembledImage[] = await timedStage(emit, 'build', artifact.image, async () => {
    const images: AssembledImage[] = [];
    for (const platform of request.push ? platforms : platforms.slice(0, 1)) {
      images.push(await assembleImage({ artifact: { ...artifact, oci: { ...oci, platform } }, store, settings: request.registry, preferCachedBase: !request.push, emit, signal, compression }));
    }
    return images;
  });
  await tidyStore(store, artifact.image, built);
  if (!request.push) {
    const image = built[0]!;
    await recordInLayout(store, image, `${request.repo}:${request.tag}`);
    emit({
      type: 'notice',
      level: 'info',
      message: `${artifact.image}: image ${request.repo}:${request.tag} (${image.manifestDigest}, ${platforms[0]}) written to the OCI layout ${store}`,
      hint: image.base.layers.length > 0 ? 'base image layers are referenced, not copied, so the layout holds only the new layers' : undefined,
    });
    return {};
  }
  const digest = await timedStage(emit, 'push', artifact.image, async () => {
    if (built.length === 1) return pushChecked(built[0]!, request.tag, request);
    // Several platforms: each manifest by digest, then an index under the tag.
    const manifests = [];
    for (const [i, image] of built.entries()) {
      await pushChecked(image, image.manifestDigest, request);
      manifests.push({ mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifestBytes.length, platform: parsePlatform(platforms[i]!) });
    }
    const docker = built[0]!.manifestMediaType === DOCKER_MANIFEST;
    const mediaType = docker ? DOCKER_MANIFEST_LIST : OCI_INDEX;
    const bytes = canonicalBytes({ schemaVersion: 2, mediaType, manifests });
    const client = RegistryClient.forRepository(request.repo, request.registry, { signal });
    const indexDigest = await client.putManifest(request.tag, bytes, mediaType);
    emit({ type: 'progress', stage: 'push', artifact: artifact.image, message: `pushed ${request.repo}:${request.tag}@${indexDigest}: an index of ${platforms.join(', ')}` });
    return indexDigest;
  });
  return { digest };
}

/**
 * `oci.compression`. auto: plain tar layers when the image stays on this machine (a loopback registry,
 * or no push): gzip costs more CPU time than it saves in bytes over loopback (a 4 MB Go binary takes
 * ~150 ms at level 6), and containerd and Docker pull uncompressed layers as they are. Any other
 * registry gets gzip at `gzipLevel`, since bytes over a network cost more than the CPU.
 */
export function layerCompression(oci: Pick<OciBuildConfig, 'compression' | 'gzipLevel'>, repo: string, push: boolean): LayerCompression {
  const gzip: LayerCompression = { kind: 'gzip', level: oci.gzipLevel ?? GZIP_LEVEL };
  switch (oci.compression ?? 'auto') {
    case 'gzip':
      return gzip;
    case 'none':
      return { kind: 'none' };
    default:
      return !push || isLoopbackHost(registryOf(repo)) ? { kind: 'none' } : gzip;
  }
}

async function pushChecked(image: AssembledImage, reference: string, request: ImageBuildRequest): Promise<string> {
  const summary = await pushImage(image, { repo: request.repo, tag: reference, settings: request.registry, emit: request.emit, artifact: request.artifact.image, signal: request.signal });
  if (summary.digest !== image.manifestDigest) {
    throw new DevloopError('REGISTRY_DIGEST_MISMATCH', `registry stored ${request.repo}:${reference} under a different digest than built`);
  }
  return summary.digest;
}

/** Records the blobs this image uses and drops old unreferenced ones; never fails the build. */
async function tidyStore(store: string, image: string, images: AssembledImage[]): Promise<void> {
  const digests = images.flatMap((built) => [...built.layers.map((l) => l.digest), sha256Digest(built.configBytes), built.manifestDigest]);
  try {
    await recordArtifactBlobs(store, image, digests);
    await collectGarbage(store);
  } catch {
    // A cache that could not be tidied is still a correct cache.
  }
}

let layoutLock: Promise<void> = Promise.resolve();

/** Adds (or moves) `refName` in the layout's index.json; serialised so concurrent builds do not lose entries. */
function recordInLayout(store: string, image: AssembledImage, refName: string): Promise<void> {
  const update = async (): Promise<void> => {
    await writeFileAtomic(join(store, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const indexFile = join(store, 'index.json');
    let index: { schemaVersion: 2; manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] };
    try {
      index = JSON.parse(await readFile(indexFile, 'utf8')) as typeof index;
    } catch {
      index = { schemaVersion: 2, manifests: [] };
    }
    index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== refName);
    index.manifests.push({
      mediaType: image.manifestMediaType,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      annotations: { 'org.opencontainers.image.ref.name': refName },
    });
    await writeFileAtomic(indexFile, JSON.stringify(index, null, 2));
  };
  layoutLock = layoutLock.then(update, update);
  return layoutLock;
}
