import type { CommandContext } from '../context.js';
import { collectStageDurations, reportFailure } from '../../events/bus.js';
import { checkedKubeClient, parseTimeoutFlag, readBuildArtifacts } from './shared-deploy.js';

export interface RunOptions {
  tail?: boolean;
  portForward?: boolean;
  statusCheckTimeout?: string;
  /** `devloop deploy` only: skip building, use these tags. */
  buildArtifacts?: string;
}

/**
 * `devloop run`: build → render → apply → prune → status, once, as iteration 1. Exit 0 only when
 * everything is healthy. With --tail, streams logs (and forwards ports) until Ctrl-C.
 */
export async function run(ctx: CommandContext, opts: RunOptions = {}): Promise<number> {
  return runOnce(ctx, opts, 'run');
}

export async function runOnce(ctx: CommandContext, opts: RunOptions, command: 'run' | 'deploy'): Promise<number> {
  const started = performance.now();
  const { stages, stop: unsubscribe } = collectStageDurations(ctx.bus);
  ctx.emit({ type: 'iteration', n: 1, status: 'start' });
  try {
    const statusCheckTimeoutMs = parseTimeoutFlag(opts.statusCheckTimeout);
    const loaded = await ctx.loadConfig(command);
    // The pre-flight (cluster and registries answer) runs while the build hashes its inputs; the
    // build compiles nothing until it passed. It also loads the Kubernetes client, devloop's slowest import.
    const kubeClient = checkedKubeClient(ctx, loaded, command, Boolean(opts.buildArtifacts));
    kubeClient.catch(() => undefined); // awaited below
    const builds = opts.buildArtifacts
      ? await readBuildArtifacts(opts.buildArtifacts, ctx.cwd)
      : await (await import('../../build/index.js')).buildArtifacts({ loaded, emit: ctx.emit, signal: ctx.signal, ready: kubeClient, kube: () => kubeClient });
    ctx.signal.throwIfAborted();
    const kube = await kubeClient;
    const { deployBuilt } = await import('../../runner/pipeline.js');
    await deployBuilt({ loaded, emit: ctx.emit, signal: ctx.signal, kube, statusCheckTimeoutMs }, builds);
    unsubscribe();
    ctx.emit({ type: 'iteration', n: 1, status: 'ok', durationMs: Math.round(performance.now() - started), stages });
    if (opts.tail) {
      const { tailAndForward } = await import('../../runner/tail.js');
      await tailAndForward({ kube, loaded, emit: ctx.emit, signal: ctx.signal, portForward: Boolean(opts.portForward) });
    }
    return 0;
  } catch (error) {
    unsubscribe();
    // The error first, then the iteration result: `--output json` consumers read the last line.
    const failure = reportFailure(ctx.emit, ctx.signal.aborted && ctx.signal.reason ? ctx.signal.reason : error);
    ctx.emit({ type: 'iteration', n: 1, status: 'error', durationMs: Math.round(performance.now() - started), reason: failure.message, stages });
    return failure.exitCode;
  }
}
