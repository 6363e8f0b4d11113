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
  /** --ui: serve the web view; --ui-port: on this port instead of a free one (implies --ui). */
  ui?: boolean;
  uiPort?: string;
}

/** `devloop dev`: flags → options; the loop lives in runner/dev.ts. */
export async function dev(ctx: CommandContext, opts: DevCommandOptions = {}): Promise<number> {
  const debounceMs = Number(opts.debounce ?? '100');
  if (!Number.isFinite(debounceMs) || debounceMs < 0) throw new UsageError(`--debounce "${opts.debounce}" is not a number of milliseconds`, { hint: 'e.g. --debounce 200' });
  const intervalMs = parseDuration(opts.interval ?? '1s');
  if (intervalMs === undefined || intervalMs <= 0) throw new UsageError(`--interval "${opts.interval}" is not a duration`, { hint: 'e.g. --interval 500ms or 2s' });
  const cleanup = parseBool(opts.cleanup ?? 'true');
  if (cleanup === undefined) throw new UsageError(`--cleanup "${opts.cleanup}" must be true or false`);
  const uiPort = opts.uiPort === undefined ? undefined : Number(opts.uiPort);
  if (uiPort !== undefined && !(Number.isInteger(uiPort) && uiPort >= 1 && uiPort <= 65535)) {
    throw new UsageError(`--ui-port "${opts.uiPort}" is not a port number`, { hint: 'e.g. --ui-port 7070 (1-65535), or leave it out for a free port' });
  }
  const { parseTimeoutFlag, checkedKubeClient } = await import('./shared-deploy.js');
  const { runDev } = await import('../../runner/dev.js');
  // The web view loads only when asked for, and subscribes before the first event so the page has them all.
  const web = opts.ui || uiPort !== undefined ? await (await import('../../ui/web/server.js')).startWebView(ctx.bus, { port: uiPort }) : undefined;
  if (web) ctx.emit({ type: 'notice', level: 'info', message: `web view at ${web.url}` });
  try {
    return await runDev(
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
  } finally {
    await web?.close();
  }
}

function parseBool(value: string): boolean | undefined {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  return undefined;
}
