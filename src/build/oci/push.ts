/**
 * Pushes an assembled image: blobs first (skipped when present, mounted from the base repository
 * when it lives in the same registry), then the manifest bytes exactly as hashed.
 */
import type { Emit } from '../../events/bus.js';
import { DevloopError } from '../../errors.js';
import type { RegistrySettings } from '../types.js';
import { RegistryClient, type BlobPushResult } from '../../registry/client.js';
import { blobFromBytes, blobFromFile, type BlobSource } from '../../registry/blob-source.js';
import type { AssembledImage } from './assemble.js';

/** Blobs uploaded at once: enough to overlap round trips, few enough for a 2-core laptop. */
const PUSH_CONCURRENCY = 3;

export interface PushOptions {
  repo: string;
  tag: string;
  settings: RegistrySettings;
  emit: Emit;
  artifact: string;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Client options for tests and the benchmark (chunk size, retries). */
  chunkSize?: number;
}

export interface PushSummary {
  digest: string;
  uploaded: number;
  mounted: number;
  present: number;
}

export async function pushImage(image: AssembledImage, options: PushOptions): Promise<PushSummary> {
  const client = RegistryClient.forRepository(options.repo, options.settings, { signal: options.signal, env: options.env, chunkSize: options.chunkSize });
  const base = image.base.reference;
  const sameRegistry = base !== undefined && base.registry === client.registry;
  const baseClient = base
    ? RegistryClient.forRepository(`${base.registry}/${base.repository}`, options.settings, { signal: options.signal, env: options.env })
    : undefined;

  const jobs: { blob: BlobSource; mountFrom?: string; label: string }[] = [
    ...image.base.layers.map((d, i) => ({
      // Only read (downloaded) when the target has neither the blob nor a mountable copy.
      blob: lazyRemoteBlob(baseClient!, d.digest, d.size),
      mountFrom: sameRegistry ? base!.repository : undefined,
      label: `base layer ${i + 1}`,
    })),
    ...image.layers.map((l, i) => ({ blob: blobFromFile(l.file, l.digest, l.size), label: `layer ${i + 1} (${l.createdBy})` })),
    { blob: blobFromBytes(image.configBytes), label: 'config' },
  ];

  const total = jobs.reduce((sum, j) => sum + j.blob.size, 0);
  let done = 0;
  const counts: Record<BlobPushResult, number> = { exists: 0, mounted: 0, uploaded: 0 };
  const emitProgress = (message: string): void =>
    options.emit({ type: 'progress', stage: 'push', artifact: options.artifact, message, current: done, total });

  await forEachLimited(jobs, PUSH_CONCURRENCY, async (job) => {
    let sentBefore = 0;
    const result = await client.pushBlob(job.blob, {
      mountFrom: job.mountFrom,
      onProgress: (sent) => {
        done += sent - sentBefore;
        sentBefore = sent;
        emitProgress(`uploading ${job.label}`);
      },
    });
    done += job.blob.size - sentBefore;
    counts[result]++;
    emitProgress(`${job.label} ${result === 'exists' ? 'already present' : result}`);
  });

  const digest = await client.putManifest(options.tag, image.manifestBytes, image.manifestMediaType);
  options.emit({
    type: 'progress',
    stage: 'push',
    artifact: options.artifact,
    message: `pushed ${client.name}:${options.tag}@${digest} (${counts.uploaded} uploaded, ${counts.mounted} mounted, ${counts.exists} already present)`,
    current: total,
    total,
  });
  return { digest, uploaded: counts.uploaded, mounted: counts.mounted, present: counts.exists };
}

function lazyRemoteBlob(client: RegistryClient, digest: string, size: number): BlobSource {
  let bytes: Promise<Buffer> | undefined;
  return {
    digest,
    size,
    read: async (start, end) => {
      bytes ??= client.getBlob(digest).catch((error: unknown) => {
        // The push reads this base layer from the base's registry: a failure there is not the target's.
        if (!(error instanceof DevloopError)) throw error;
        throw new DevloopError(error.code, `copying base layer ${digest.slice(0, 19)} from ${client.name}: ${error.message}`, { hint: error.hint, cause: error });
      });
      return (await bytes).subarray(start, end);
    },
  };
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (error) {
        failed = true; // stop starting new blobs; the first error is reported
        throw error;
      }
    }
  });
  await Promise.all(workers);
}
