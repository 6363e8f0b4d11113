import type { CommandContext } from '../context.js';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { resolve } from 'node:path';

export interface BuildOptions {
  push?: string;
  fileOutput?: string;
}

/** `--push true|false` (commander hands the raw string). */
export function parsePushFlag(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true' || normalized === '1' || normalized === 'yes') return true;
  if (normalized === 'false' || normalized === '0' || normalized === 'no') return false;
  throw new UsageError(`--push must be true or false, not "${value}"`, { hint: 'e.g. `devloop build --push=false`' });
}

/** `devloop build`: compile, build, tag and push (or load) every artifact; exit 1 when any fails. */
export async function build(ctx: CommandContext, opts: BuildOptions = {}): Promise<number | void> {
  const push = parsePushFlag(opts.push);
  const loaded = await ctx.loadConfig('build');
  const { preflight } = await import('../../preflight/index.js');
  // The registries to push to must answer; checked while inputs are hashed, before any compile.
  const ready = preflight({ command: 'build', loaded, signal: ctx.signal, push, skip: ctx.options.skipPreflight });
  ready.catch(() => undefined); // handed to the build, which reports it
  const { buildArtifacts } = await import('../../build/index.js');
  const results = await buildArtifacts({ loaded, emit: ctx.emit, signal: ctx.signal, push, ready });
  if (opts.fileOutput) {
    const builds = results.map((r) => ({ image: r.image, tag: r.ref }));
    await writeFileAtomic(resolve(ctx.cwd, opts.fileOutput), JSON.stringify({ builds }, null, 2) + '\n');
  }
}
