/**
 * The platforms images are built for: `--platform` / `build.platform`, else the architectures of the
 * cluster's nodes (so an arm64 cluster gets arm64 images from an amd64 laptop), else — no cluster
 * to ask — the host's. And the check that compiled binaries going into an image are for them.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { kubeconfigFiles } from './load.js';
import type { ArtifactConfig, BuildConfig, LoadedConfig } from '../config/types.js';
import { DevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';

export interface TargetPlatforms {
  /** Sorted, unique os/arch[/variant]. */
  platforms: string[];
  source: 'config' | 'cluster' | 'host';
  /** Why the cluster could not be asked (source host). */
  reason?: string;
}

const HOST_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): string {
  return `linux/${HOST_ARCH[process.arch] ?? process.arch}`;
}

/**
 * Remembers the nodes' platforms per kubeconfig + context under .devloop/, so that a no-op
 * `devloop build` need not load the Kubernetes client (~150 ms) just to list nodes.
 */
export interface PlatformCache {
  file: string;
  /** The kube context the build targets, when the config names one (else the kubeconfig's current one). */
  context: string;
  /** Ask the nodes even when the cache is fresh (run and dev have a client anyway). */
  refresh: boolean;
  maxAgeMs?: number;
}

/** The project's record of its cluster's node platforms (`.devloop/node-platforms.json`). */
export function nodePlatformsCache(loaded: Pick<LoadedConfig, 'dir' | 'config'>, refresh: boolean): PlatformCache {
  return { file: join(loaded.dir, '.devloop', 'node-platforms.json'), context: loaded.config.deploy.kubeContext, refresh };
}

/** Node architectures are re-read at least this often by commands that do not talk to the cluster otherwise. */
const CACHE_MAX_AGE_MS = 10 * 60_000;

type CacheFile = Record<string, { platforms: string[]; checkedAt: number }>;

export async function targetPlatforms(config: Pick<BuildConfig, 'platform'>, kube: () => Promise<KubeClient>, cache?: PlatformCache): Promise<TargetPlatforms> {
  const written = typeof config.platform === 'string' ? [config.platform] : (config.platform ?? []);
  if (written.length > 0) return { platforms: [...new Set(written)].sort(), source: 'config' };
  const key = cache ? await kubeconfigIdentity(cache.context) : '';
  const known: CacheFile = cache ? await readFile(cache.file, 'utf8').then((t) => JSON.parse(t) as CacheFile, () => ({})) : {};
  const entry = known[key];
  if (cache && !cache.refresh && entry && Date.now() - entry.checkedAt < (cache.maxAgeMs ?? CACHE_MAX_AGE_MS)) {
    return { platforms: entry.platforms, source: 'cluster' };
  }
  try {
    const client = await kube();
    const nodes = await client.core.listNode();
    const found = nodes.items.flatMap((node) => {
      const info = node.status?.nodeInfo;
      return info?.architecture ? [`${info.operatingSystem || 'linux'}/${info.architecture}`] : [];
    });
    if (found.length === 0) return { platforms: [hostPlatform()], source: 'host', reason: 'the cluster lists no nodes' };
    const platforms = [...new Set(found)].sort();
    if (cache) await writeFileAtomic(cache.file, JSON.stringify({ ...known, [key]: { platforms, checkedAt: Date.now() } })).catch(() => undefined);
    return { platforms, source: 'cluster' };
  } catch (error) {
    return { platforms: [hostPlatform()], source: 'host', reason: (error as Error).message.split('\n')[0] };
  }
}

/**
 * Which cluster a build targets, cheaply: the kubeconfig files with their mtimes (switching the current
 * context rewrites the file) and the configured context; no YAML parsing, no client.
 */
async function kubeconfigIdentity(context: string): Promise<string> {
  const files = kubeconfigFiles();
  const stamps = await Promise.all(files.map((f) => stat(f).then((s) => `${f}@${s.mtimeMs}`, () => `${f}@missing`)));
  return `${stamps.join(delimiter)}#${context}`;
}

/** ELF e_machine → GOARCH-style architecture name. */
const ELF_MACHINES: Record<number, string> = { 3: '386', 8: 'mips', 20: 'ppc', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'amd64', 183: 'arm64', 243: 'riscv64' };

/** The architecture an ELF file is for, from its first 20 bytes; undefined when it is not ELF. */
export function elfArchitecture(header: Uint8Array): string | undefined {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined;
  const littleEndian = header[5] !== 2;
  const machine = littleEndian ? header[18]! | (header[19]! << 8) : (header[18]! << 8) | header[19]!;
  const arch = ELF_MACHINES[machine] ?? `machine ${machine}`;
  if (arch === 'ppc64' && littleEndian) return 'ppc64le';
  if (arch === 'mips' && littleEndian) return header[4] === 2 ? 'mips64le' : 'mipsle';
  return arch;
}

async function readHeader(file: string): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buffer = Buffer.alloc(20);
    const { bytesRead } = await handle.read(buffer, 0, 20, 0);
    return buffer.subarray(0, bytesRead);
  } catch {
    return undefined; // unreadable: the build itself reports it
  } finally {
    await handle?.close();
  }
}

/**
 * Fails when an ELF file that goes into the image is for another architecture than a target
 * platform (e.g. a Go binary built for the laptop, deployed to arm64 nodes). `files` are the
 * candidates (executables among the image's inputs): `shown` for the message, `path` to read.
 */
export async function checkBinaries(image: string, files: readonly { shown: string; path: string }[], platforms: readonly string[]): Promise<void> {
  const archs = [...new Set(platforms.map((p) => p.split('/')[1]!))];
  for (const file of files) {
    const header = await readHeader(file.path);
    const arch = header && elfArchitecture(header);
    if (!arch) continue;
    const missing = archs.filter((a) => a !== arch);
    if (missing.length === 0) continue;
    const want = platforms.filter((p) => missing.includes(p.split('/')[1]!)).join(', ');
    throw new DevloopError('PLATFORM_MISMATCH', `${image}: ${file.shown} is ${/^[aeiou]/.test(arch) ? 'an' : 'a'} ${arch} binary, but the image is for ${want}`, {
      hint:
        archs.length > 1
          ? 'one binary cannot serve several architectures: set build.platform (or --platform) to one, or build one binary per platform in a custom builder'
          : `compile it for ${archs[0]} (e.g. GOARCH=${archs[0]} in compile.env), or set build.platform / --platform`,
    });
  }
}

/** An oci artifact's own `oci.platform` wins over the target platforms. */
export function artifactPlatforms(artifact: ArtifactConfig, target: TargetPlatforms): string[] {
  return artifact.oci?.platform ? [artifact.oci.platform] : target.platforms;
}

/** Where devloop took the platforms from, for a notice. */
export function describeTarget(target: TargetPlatforms): string {
  const what = target.platforms.join(', ');
  if (target.source === 'config') return `target platform ${what} (build.platform / --platform)`;
  if (target.source === 'cluster') return `target platform ${what} (the cluster's nodes)`;
  return `target platform ${what} (this machine's: ${target.reason ?? 'no cluster'})`;
}
