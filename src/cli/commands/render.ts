import { resolve } from 'node:path';
import type { CommandContext } from '../context.js';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { timedStage } from '../../events/bus.js';
import { readBuildArtifacts } from './shared-deploy.js';

export interface RenderCommandOptions {
  buildArtifacts?: string;
  out?: string;
}

/**
 * `devloop render`: the manifests with images replaced, as YAML on stdout (or --out). Without
 * --build-artifacts it uses the tags a build would produce now. With `--output json` stdout carries
 * events, so the YAML must go to a file: --out is required there.
 */
export async function render(ctx: CommandContext, opts: RenderCommandOptions = {}): Promise<number> {
  if (ctx.options.output === 'json' && !opts.out) {
    throw new UsageError('`devloop render --output json` needs --out FILE', { hint: 'stdout carries the JSON events; the YAML goes to the file' });
  }
  const loaded = await ctx.loadConfig('render');
  const builds = opts.buildArtifacts
    ? await readBuildArtifacts(opts.buildArtifacts, ctx.cwd)
    : await (await import('../../build/planned.js')).plannedBuilds(loaded, ctx.signal);
  const { renderManifests, toYaml } = await import('../../render/index.js');
  const rendered = await timedStage(ctx.emit, 'render', undefined, () =>
    renderManifests({
      loaded,
      images: builds.map((b) => ({ image: b.image, ref: b.ref })),
      namespace: loaded.config.deploy.namespace || undefined,
      emit: ctx.emit,
      signal: ctx.signal,
    }),
  );
  const yaml = toYaml(rendered.objects.map((o) => o.object));
  if (opts.out) await writeFileAtomic(resolve(ctx.cwd, opts.out), yaml);
  else await new Promise<void>((done) => process.stdout.write(yaml, () => done()));
  return 0;
}
