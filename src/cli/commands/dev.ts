import type { CommandContext } from '../context.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../config/duration.js';
import type { TriggerMode } from '../../watch/index.js';

export interface DevCommandOptions {
  portForward?: boolean;
  debounce?: string;
  trigger?: TriggerMode;
  interval?: string;
  cleanup?: string;
  statusCheckTimeout?: string;
}

/** `devloop dev`: flags → options; the loop lives in runner/dev.ts. */
export async function dev(ctx: CommandContext, opts: DevCommandOptions = {}): Promise<number> {
  const debounceMs = Number(opts.debounce ?? '100');
  if (!Number.isFinite(debounceMs) || debounceMs < 0) throw new UsageError(`--debounce "${opts.debounce}" is not a number of milliseconds`, { hint: 'e.g. --debounce 200' });
  const intervalMs = parseDuration(opts.interval ?? '1s');
  if (intervalMs === undefined || intervalMs <= 0) throw new UsageError(`--interval "${opts.interval}" is not a duration`, { hint: 'e.g. --interval 500ms or 2s' });
  const cleanup = parseBool(opts.cleanup ?? 'true');
  if (cleanup === undefined) throw new UsageError(`--cleanup "${opts.cleanup}" must be true or false`);
  const { parseTimeoutFlag, checkedKubeClient } = await import('./shared-deploy.js');
  const { runDev } = await import('../../runner/dev.js');
  return runDev(
    // runDev asks for its client right after loading the config, before the first build: the pre-flight's moment.
    { emit: ctx.emit, bus: ctx.bus, signal: ctx.signal, loadConfig: ctx.loadConfig, kubeClientFor: (loaded) => checkedKubeClient(ctx, loaded, 'dev') },
    {
      trigger: opts.trigger ?? 'notify',
      debounceMs,
      intervalMs,
      cleanup,
      portForward: Boolean(opts.portForward),
      statusCheckTimeoutMs: parseTimeoutFlag(opts.statusCheckTimeout),
    },
  );
}

function parseBool(value: string): boolean | undefined {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  return undefined;
}
