/**
 * Pure image assembly: platform choice from an index, the image config JSON (base config plus the
 * artifact's settings and new layers) and the manifest JSON. Same inputs → same bytes.
 */
import { DevloopError, ConfigError } from '../../errors.js';
import type { OciBuildConfig } from '../../config/types.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  type Descriptor,
} from '../../registry/media-types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The parts of an image config devloop reads or writes; everything else in a base config is kept. */
export interface ImageConfigJson {
  created?: string;
  architecture?: string;
  os?: string;
  variant?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string> | null;
    [key: string]: unknown;
  };
  rootfs?: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  [key: string]: unknown;
}

export interface ManifestJson {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** The two manifest families; a new image keeps its base's, so layer media types stay consistent. */
export type ManifestFamily = 'oci' | 'docker';

export interface NewLayer {
  digest: string;
  diffId: string;
  size: number;
  /** History line, e.g. "devloop layer dist/** → /app". */
  createdBy: string;
  /** False for a plain tar blob (`oci.compression: none`); default true (gzip). */
  compressed?: boolean;
}

/** "linux/arm64/v8" → {os, architecture, variant}. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) {
    throw new ConfigError('OCI_PLATFORM', `oci.platform "${text}" is not os/arch[/variant]`, { hint: 'e.g. linux/amd64 or linux/arm64' });
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Picks the manifest for `wanted` from an index (arm64 treats a missing variant as v8). */
export function selectPlatform(index: IndexJson, wanted: Platform, imageName: string): Descriptor {
  const variantOf = (p: Platform): string => p.variant ?? (p.architecture === 'arm64' ? 'v8' : '');
  const found = index.manifests.find(
    (m) => m.platform && m.platform.os === wanted.os && m.platform.architecture === wanted.architecture && (!wanted.variant || variantOf(m.platform) === variantOf(wanted)),
  );
  if (found) return found;
  const available = index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : [])).join(', ');
  throw new DevloopError('OCI_PLATFORM_UNAVAILABLE', `base image ${imageName} has no ${formatPlatform(wanted)} variant (available: ${available || 'none'})`, {
    hint: 'set oci.platform to one of the available platforms, or use another base image',
  });
}

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org), else 1970-01-01T00:00:01Z. */
export function reproducibleEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return 1;
  if (!/^\d+$/.test(text)) {
    throw new ConfigError('SOURCE_DATE_EPOCH', `SOURCE_DATE_EPOCH "${text}" is not a whole number of seconds`);
  }
  return Number(text);
}

/**
 * The new image config: the base config (or an empty one for scratch) with the artifact's
 * settings applied the way a Dockerfile would (ENV merges by name, ENTRYPOINT resets CMD, …).
 */
export function buildImageConfig(
  base: ImageConfigJson | undefined,
  oci: OciBuildConfig,
  platform: Platform,
  layers: readonly NewLayer[],
  epoch: number,
): ImageConfigJson {
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const from = base?.config ?? {};
  const runtime: NonNullable<ImageConfigJson['config']> = { ...from };

  const env = new Map<string, string>();
  for (const line of from.Env ?? []) {
    const eq = line.indexOf('=');
    env.set(eq < 0 ? line : line.slice(0, eq), eq < 0 ? '' : line.slice(eq + 1));
  }
  for (const [key, value] of Object.entries(oci.env)) env.set(key, value);
  if (env.size > 0) runtime.Env = [...env].map(([key, value]) => `${key}=${value}`);

  if (oci.entrypoint.length > 0) {
    runtime.Entrypoint = [...oci.entrypoint];
    runtime.Cmd = oci.cmd.length > 0 ? [...oci.cmd] : null;
  } else if (oci.cmd.length > 0) {
    runtime.Cmd = [...oci.cmd];
  }
  if (oci.workdir) runtime.WorkingDir = oci.workdir;
  if (oci.user) runtime.User = oci.user;
  if (oci.ports.length > 0) {
    const ports: Record<string, object> = { ...from.ExposedPorts };
    for (const port of oci.ports) ports[`${port}/tcp`] = {};
    runtime.ExposedPorts = sortKeys(ports);
  }
  if (Object.keys(oci.labels).length > 0) runtime.Labels = sortKeys({ ...(from.Labels ?? {}), ...oci.labels });

  const config: ImageConfigJson = {
    ...(base ?? {}),
    created,
    architecture: platform.architecture,
    os: platform.os,
    config: runtime,
    rootfs: { type: 'layers', diff_ids: [...(base?.rootfs?.diff_ids ?? []), ...layers.map((l) => l.diffId)] },
    history: [...(base?.history ?? []), ...layers.map((l) => ({ created, created_by: l.createdBy, comment: 'devloop' }))],
  };
  if (platform.variant) config.variant = platform.variant;
  else delete config.variant;
  // Fields a base may carry that describe how *it* was built, not this image.
  delete config.container;
  delete config.container_config;
  delete config.docker_version;
  return config;
}

export function buildManifest(
  family: ManifestFamily,
  config: { digest: string; size: number },
  baseLayers: readonly Descriptor[],
  layers: readonly NewLayer[],
): ManifestJson {
  const layerType = (l: NewLayer): string =>
    l.compressed === false ? (family === 'oci' ? OCI_LAYER : DOCKER_LAYER) : family === 'oci' ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP;
  return {
    schemaVersion: 2,
    mediaType: family === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST,
    config: { mediaType: family === 'oci' ? OCI_CONFIG : DOCKER_CONFIG, digest: config.digest, size: config.size },
    layers: [
      ...baseLayers.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.annotations ? { annotations: d.annotations } : {}) })),
      ...layers.map((l) => ({ mediaType: layerType(l), digest: l.digest, size: l.size })),
    ],
  };
}

/** JSON bytes exactly as hashed and pushed. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
