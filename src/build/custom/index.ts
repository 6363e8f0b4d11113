/**
 * The custom builder: the user's script (Bazel, pack, Jib, ko, docker…) builds the image. Its
 * environment says what to build, as Skaffold's does (IMAGE, IMAGE_REPO, IMAGE_TAG, PUSH_IMAGE,
 * BUILD_CONTEXT, PLATFORMS) plus where it may leave a result for devloop:
 *  - DEVLOOP_OCI_LAYOUT: a folder to write an OCI image layout into, or
 *  - DEVLOOP_IMAGE_TAR: a file to write a `docker save` tarball (legacy or OCI format) into;
 * devloop then pushes it with its own registry client (or `docker load`s it when not pushing).
 * Otherwise the script must have pushed `$IMAGE` itself (or, without push, left it in the local
 * daemon). Either way devloop checks that the image exists and records its digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageBuilder, ImageBuildRequest } from '../types.js';
import { DevloopError } from '../../errors.js';
import { timedStage } from '../../events/bus.js';
import { abortError, CommandFailedError, runUserCommand } from '../../compile/index.js';
import { runStreaming } from '../../util/process.js';
import { registryManifestDigest } from '../head.js';
import { RegistryClient } from '../../registry/client.js';
import { blobFromFile, sha256Digest } from '../../registry/blob-source.js';
import { DOCKER_CONFIG, DOCKER_MANIFEST, isIndexMediaType, type Descriptor } from '../../registry/media-types.js';
import type { DockerImageBuilder } from '../docker/index.js';

/** Uncompressed layer of Docker's schema 2 (what a legacy `docker save` holds). */
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

export interface CustomBuilderDeps {
  /** For images left in (or loaded into) the local daemon. */
  docker: () => Promise<DockerImageBuilder>;
}

/** What the script left behind. */
type Output = { kind: 'layout'; dir: string } | { kind: 'tarball'; file: string } | { kind: 'none' };

export function createCustomBuilder(deps: CustomBuilderDeps): ImageBuilder {
  return {
    kind: 'custom',
    async build(request) {
      const { artifact, emit, signal } = request;
      const custom = artifact.custom;
      if (!custom) throw new DevloopError('INTERNAL', `${artifact.image}: the custom builder got an artifact without custom settings`);
      const image = `${request.repo}:${request.tag}`;
      const scratch = await mkdtemp(join(tmpdir(), 'devloop-custom-'));
      try {
        const output = await timedStage(emit, 'build', artifact.image, () => runScript(request, scratch));
        if (request.push) {
          const digest = await timedStage(emit, 'push', artifact.image, async () => {
            if (output.kind === 'none') return pushedByScript(request);
            const layout = output.kind === 'layout' ? output.dir : await unpackTarball(output.file, join(scratch, 'unpacked'), request);
            return pushLayout(layout, request, output.kind === 'layout' ? 'OCI layout' : 'tarball');
          });
          return { digest };
        }
        if (output.kind !== 'none') await loadIntoDaemon(output, scratch, request);
        const imageId = await (await deps.docker()).localImageId(image, signal);
        if (!imageId) {
          throw new DevloopError('CUSTOM_NO_IMAGE', `${artifact.image}: the custom build script left no image ${image} in the local Docker daemon`, {
            hint: 'without push the script must `docker build -t "$IMAGE"` (or write $DEVLOOP_IMAGE_TAR / $DEVLOOP_OCI_LAYOUT)',
          });
        }
        return { imageId };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

async function runScript(request: ImageBuildRequest, scratch: string): Promise<Output> {
  const { artifact, emit, signal } = request;
  const custom = artifact.custom!;
  const layout = join(scratch, 'oci-layout');
  const tarball = join(scratch, 'image.tar');
  const outcome = await runUserCommand({
    command: custom.command,
    cwd: artifact.context,
    env: {
      IMAGE: `${request.repo}:${request.tag}`,
      IMAGE_REPO: request.repo,
      IMAGE_TAG: request.tag,
      PUSH_IMAGE: String(request.push),
      BUILD_CONTEXT: artifact.context,
      PLATFORMS: (request.platforms ?? []).join(','),
      DEVLOOP_OCI_LAYOUT: layout,
      DEVLOOP_IMAGE_TAR: tarball,
      ...custom.env,
    },
    signal,
    timeoutMs: custom.timeout,
    onLine: (line, stream) => emit({ type: 'log', artifact: artifact.image, stage: 'build', stream, line }),
  });
  if (!outcome.ok) {
    const outputTail = outcome.tail;
    if (outcome.kind === 'timeout') {
      throw new CommandFailedError('CUSTOM_BUILD_TIMEOUT', `${artifact.image}: custom build "${outcome.shown}" timed out after ${Math.round(custom.timeout / 1000)}s (stopped)`, {
        hint: 'raise custom.timeout in devloop.yaml, or make the script finish sooner',
        outputTail,
      });
    }
    if (outcome.kind === 'not-found') {
      throw new CommandFailedError('CUSTOM_BUILD_FAILED', `${artifact.image}: custom build command "${outcome.program}" not found`, {
        hint: `install it or fix custom.command in devloop.yaml (it runs in ${artifact.context})`,
        outputTail,
      });
    }
    throw new CommandFailedError('CUSTOM_BUILD_FAILED', `${artifact.image}: custom build "${outcome.shown}" failed with exit code ${outcome.exitCode}${outcome.last ? `: ${outcome.last}` : ''}`, {
      hint: outputTail.length ? 'its output is above (log events of stage build)' : `it printed nothing; run it in ${artifact.context}`,
      outputTail,
    });
  }
  if (existsSync(join(layout, 'index.json'))) return { kind: 'layout', dir: layout };
  if (existsSync(tarball)) return { kind: 'tarball', file: tarball };
  return { kind: 'none' };
}

/** The script pushed: the registry must have $IMAGE now. */
async function pushedByScript(request: ImageBuildRequest): Promise<string> {
  const digest = await registryManifestDigest(request.repo, request.tag, request.registry, request.signal);
  if (!digest) {
    throw new DevloopError('CUSTOM_NO_IMAGE', `${request.artifact.image}: the custom build script produced no image: ${request.repo}:${request.tag} is not in the registry`, {
      hint: 'the script must push "$IMAGE" when PUSH_IMAGE=true, or write an OCI layout to $DEVLOOP_OCI_LAYOUT or a `docker save` tarball to $DEVLOOP_IMAGE_TAR',
    });
  }
  return digest;
}

interface LayoutIndex {
  manifests?: Descriptor[];
}

/** Pushes the image of an OCI layout (a manifest, or an index and its manifests) as repo:tag; returns the top digest. */
export async function pushLayout(
  dir: string,
  request: Pick<ImageBuildRequest, 'artifact' | 'repo' | 'tag' | 'registry' | 'signal' | 'emit' | 'platforms'>,
  source = 'OCI layout',
): Promise<string> {
  const name = request.artifact.image;
  const bad = (detail: string): DevloopError =>
    new DevloopError('CUSTOM_BAD_LAYOUT', `${name}: the ${source} the custom build wrote is unusable: ${detail}`, {
      hint: 'write a complete OCI image layout (oci-layout, index.json, blobs/sha256/…) with one image',
    });
  let index: LayoutIndex;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as LayoutIndex;
  } catch {
    throw bad('index.json is not JSON');
  }
  const manifests = index.manifests ?? [];
  const named = manifests.filter((m) => {
    const ref = m.annotations?.['org.opencontainers.image.ref.name'] ?? m.annotations?.['io.containerd.image.name'];
    return ref === request.tag || ref === `${request.repo}:${request.tag}`;
  });
  const top = named[0] ?? (manifests.length === 1 ? manifests[0] : undefined);
  if (!top) throw bad(manifests.length === 0 ? 'index.json lists no image' : `index.json lists ${manifests.length} images and none is named ${request.tag}`);

  const client = RegistryClient.forRepository(request.repo, request.registry, { signal: request.signal });
  const blobFile = (digest: string): string => join(dir, 'blobs', ...digest.split(':'));
  const readBlob = async (d: Descriptor): Promise<Buffer> => {
    const bytes = await readFile(blobFile(d.digest)).catch(() => {
      throw bad(`blob ${d.digest} is missing`);
    });
    if (sha256Digest(bytes) !== d.digest) throw bad(`blob ${d.digest} does not match its digest`);
    return bytes;
  };
  let uploaded = 0;
  const pushBlob = async (d: Descriptor): Promise<void> => {
    const file = blobFile(d.digest);
    if (!existsSync(file)) {
      if (await client.hasBlob(d.digest)) return; // a base layer already in the registry
      throw bad(`blob ${d.digest} is missing`);
    }
    if ((await client.pushBlob(blobFromFile(file, d.digest, (await stat(file)).size))) === 'uploaded') uploaded += 1;
  };
  const pushManifest = async (d: Descriptor, reference: string): Promise<string> => {
    const bytes = await readBlob(d);
    const manifest = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
    const mediaType = d.mediaType || manifest.mediaType || '';
    if (isIndexMediaType(mediaType)) {
      for (const child of manifest.manifests ?? []) await pushManifest(child, child.digest);
    } else {
      if (!manifest.config) throw bad(`manifest ${d.digest} has no config`);
      if (reference === request.tag) checkArchitecture(JSON.parse((await readBlob(manifest.config)).toString('utf8')) as { os?: string; architecture?: string }, request);
      for (const blob of [manifest.config, ...(manifest.layers ?? [])]) await pushBlob(blob);
    }
    return client.putManifest(reference, bytes, mediaType);
  };
  const digest = await pushManifest(top, request.tag);
  request.emit({ type: 'progress', stage: 'push', artifact: name, message: `pushed ${client.name}:${request.tag}@${digest} from the script's ${source} (${uploaded} blobs uploaded)` });
  return digest;
}

/** A single-platform image from the script must be for a target platform (as compile outputs must). */
function checkArchitecture(config: { os?: string; architecture?: string }, request: Pick<ImageBuildRequest, 'artifact' | 'platforms'>): void {
  const targets = request.platforms ?? [];
  if (!config.architecture || targets.length === 0) return;
  const platform = `${config.os ?? 'linux'}/${config.architecture}`;
  if (targets.some((t) => t === platform || t.startsWith(`${platform}/`))) return;
  throw new DevloopError('PLATFORM_MISMATCH', `${request.artifact.image}: the custom build made a ${platform} image, but the image is for ${targets.join(', ')}`, {
    hint: 'build for $PLATFORMS in the script (e.g. docker build --platform "$PLATFORMS"), or set build.platform / --platform',
  });
}

/**
 * A `docker save` tarball as an OCI layout folder: newer Docker writes one inside the tar; a
 * legacy one (manifest.json, config JSON, uncompressed layer.tar files) becomes a Docker schema 2
 * image with uncompressed layers, whose digests are then the config's diff_ids.
 */
async function unpackTarball(file: string, dir: string, request: ImageBuildRequest): Promise<string> {
  const name = request.artifact.image;
  await mkdir(dir, { recursive: true });
  const result = await runStreaming({ file: 'tar', args: ['-x', '-f', file, '-C', dir], signal: request.signal, timeoutMs: 10 * 60_000 });
  if (result.canceled) throw abortError(request.signal);
  if (result.exitCode !== 0) {
    throw new DevloopError('CUSTOM_BAD_TARBALL', `${name}: cannot unpack the tarball the custom build wrote: ${result.tail.at(-1) ?? `tar exit code ${result.exitCode}`}`, {
      hint: 'write the output of `docker save "$IMAGE"` to $DEVLOOP_IMAGE_TAR',
    });
  }
  if (existsSync(join(dir, 'index.json')) && existsSync(join(dir, 'blobs'))) return dir;
  let saved: { Config: string; Layers: string[]; RepoTags?: string[] }[];
  try {
    saved = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as typeof saved;
  } catch {
    throw new DevloopError('CUSTOM_BAD_TARBALL', `${name}: the tarball the custom build wrote has no manifest.json or index.json`, {
      hint: 'write the output of `docker save "$IMAGE"` to $DEVLOOP_IMAGE_TAR',
    });
  }
  const entry = saved.find((e) => e.RepoTags?.includes(`${request.repo}:${request.tag}`)) ?? (saved.length === 1 ? saved[0] : undefined);
  if (!entry) throw new DevloopError('CUSTOM_BAD_TARBALL', `${name}: the tarball holds ${saved.length} images and none is ${request.repo}:${request.tag}`, { hint: 'save only "$IMAGE"' });
  // Legacy layout → blobs/sha256 by digest (hard work only for layers: hashing them).
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const place = async (path: string): Promise<Descriptor & { file: string }> => {
    const digest = await hashFile(join(dir, path));
    return { mediaType: '', digest, size: (await stat(join(dir, path))).size, file: join(dir, path) };
  };
  const config = await place(entry.Config);
  const layers = await Promise.all(entry.Layers.map(place));
  for (const blob of [config, ...layers]) {
    const target = join(blobs, blob.digest.slice('sha256:'.length));
    if (!existsSync(target)) await link(blob.file, target);
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: DOCKER_LAYER_TAR, digest: l.digest, size: l.size })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256Digest(bytes);
  await writeFile(join(blobs, digest.slice('sha256:'.length)), bytes);
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: DOCKER_MANIFEST, digest, size: bytes.length }] }));
  return dir;
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(`sha256:${hash.digest('hex')}`));
  });
}

/** Without push: a tarball (or a layout, tarred) goes to the local daemon with `docker load`. */
async function loadIntoDaemon(output: Exclude<Output, { kind: 'none' }>, scratch: string, request: ImageBuildRequest): Promise<void> {
  let file = output.kind === 'tarball' ? output.file : join(scratch, 'layout.tar');
  if (output.kind === 'layout') {
    const packed = await runStreaming({ file: 'tar', args: ['-c', '-f', file, '-C', output.dir, '.'], signal: request.signal });
    if (packed.exitCode !== 0) file = '';
  }
  const result = file ? await runStreaming({ file: 'docker', args: ['load', '-i', file], signal: request.signal, timeoutMs: 10 * 60_000 }) : undefined;
  if (request.signal.aborted) throw abortError(request.signal);
  if (!result || result.exitCode !== 0) {
    throw new DevloopError('CUSTOM_LOAD_FAILED', `${request.artifact.image}: \`docker load\` refused the image the custom build wrote: ${result?.tail.at(-1) ?? 'could not pack the layout'}`, {
      hint: 'without push, leave the image in the local daemon (`docker build -t "$IMAGE"`) or write a `docker save` tarball',
    });
  }
  // A loaded tarball keeps the tags it was saved with: make sure $IMAGE is one of them.
  const loaded = result.stdout.map((l) => /^Loaded image(?: ID)?: (.+)$/.exec(l.trim())?.[1]).find(Boolean);
  if (loaded && loaded !== `${request.repo}:${request.tag}`) {
    await runStreaming({ file: 'docker', args: ['tag', loaded, `${request.repo}:${request.tag}`], signal: request.signal, timeoutMs: 60_000 });
  }
}
