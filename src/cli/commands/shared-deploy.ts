/** Helpers shared by the render/deploy/run/delete commands. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BuildResult } from '../../build/types.js';
import type { LoadedConfig } from '../../config/types.js';
import { parseDuration } from '../../config/duration.js';
import type { KubeClient } from '../../kube/client.js';
import type { CommandContext } from '../context.js';
import { splitImageReference } from '../../registry/reference.js';
import { UsageError } from '../../errors.js';

/** Reads `{"builds":[{"image","tag"}]}` (from `devloop build --file-output`); `tag` is the full reference. */
export async function readBuildArtifacts(file: string, cwd: string): Promise<BuildResult[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(resolve(cwd, file), 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read --build-artifacts ${file}: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'write it with `devloop build --file-output FILE`',
    });
  }
  const builds = (parsed as { builds?: unknown }).builds;
  if (!Array.isArray(builds)) throw new UsageError(`--build-artifacts ${file} has no "builds" list`, { hint: 'expected {"builds":[{"image":"hello","tag":"repo/hello:tag@sha256:…"}]}' });
  return builds.map((entry: unknown, index) => {
    const { image, tag } = (entry ?? {}) as { image?: unknown; tag?: unknown };
    if (typeof image !== 'string' || typeof tag !== 'string' || !image || !tag) {
      throw new UsageError(`--build-artifacts ${file}: builds[${index}] needs string "image" and "tag"`);
    }
    const parsedRef = splitImageReference(tag);
    return { image, repo: parsedRef.repository, tag: parsedRef.tag ?? 'latest', digest: parsedRef.digest, ref: tag, cached: true };
  });
}

export function parseTimeoutFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new UsageError(`--status-check-timeout "${value}" is not a duration`, { hint: 'e.g. 90s, 2m' });
  return ms;
}

/** Pre-flight for a command that deploys or deletes; returns the kube client it checked. */
export async function checkedKubeClient(
  ctx: Pick<CommandContext, 'options' | 'signal'>,
  loaded: LoadedConfig,
  command: 'run' | 'dev' | 'deploy' | 'delete',
  prebuilt = false,
): Promise<KubeClient> {
  const { preflight } = await import('../../preflight/index.js');
  const { kube } = await preflight({ command, loaded, signal: ctx.signal, prebuilt, skip: ctx.options.skipPreflight });
  return kube!;
}

