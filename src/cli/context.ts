import { DevloopError } from '../errors.js';
import { EventBus, reportFailure, type Emit } from '../events/bus.js';
import type { LoadedConfig } from '../config/types.js';
import { attachRenderer } from '../ui/attach.js';

export interface GlobalOptions {
  filename: string;
  profile?: string;
  output: 'text' | 'json';
  kubeContext?: string;
  namespace?: string;
  defaultRepo?: string;
  platform?: string;
  color: boolean;
  verbose: boolean;
  /** --skip-preflight: do not check the cluster and registries before building. */
  skipPreflight?: boolean;
}

/** What every command receives: the parsed global options, the event channel and a cancel signal. */
export interface CommandContext {
  options: GlobalOptions;
  bus: EventBus;
  emit: Emit;
  cwd: string;
  /** Aborted on the first Ctrl-C / SIGTERM; a second one exits at once. */
  signal: AbortSignal;
  /** Loads devloop.yaml with profiles for `command`, applying the CLI overrides. */
  loadConfig(command: string): Promise<LoadedConfig>;
}

/**
 * Runs one command: sets up rendering and signals, turns any failure into one line + hint and
 * the contract's exit code (0 ok, 1 pipeline failure, 2 usage/config error).
 */
export async function runCommand(options: GlobalOptions, work: (ctx: CommandContext) => Promise<number | void>): Promise<void> {
  const bus = new EventBus();
  const renderer = attachRenderer(bus, { format: options.output, color: options.color, verbose: options.verbose });
  const abort = new AbortController();
  let interrupts = 0;
  // The shell convention (128 + signal number): 130 after Ctrl-C, 143 after SIGTERM — also when the
  // command then cleans up and ends normally, so scripts can tell an interrupted run from a finished one.
  let signalExit: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    const code = signal === 'SIGTERM' ? 143 : 130;
    if (interrupts > 1) process.exit(code);
    signalExit = code;
    bus.emit({ type: 'notice', level: 'info', message: `${signal} received, cleaning up (press Ctrl-C again to exit at once)` });
    abort.abort(new DevloopError('INTERRUPTED', `interrupted by ${signal}`, { exitCode: code }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ctx: CommandContext = {
    options,
    bus,
    emit: (body) => bus.emit(body),
    cwd: process.cwd(),
    signal: abort.signal,
    loadConfig: async (command) => {
      const { loadConfigForCommand } = await import('../config/load.js');
      return loadConfigForCommand({
        file: options.filename,
        cwd: process.cwd(),
        profiles: options.profile ? options.profile.split(',').map((p) => p.trim()).filter(Boolean) : [],
        command,
        overrides: { kubeContext: options.kubeContext, namespace: options.namespace, defaultRepo: options.defaultRepo, platform: options.platform },
        env: process.env,
      });
    },
  };

  let exitCode = 0;
  try {
    exitCode = (await work(ctx)) ?? 0;
  } catch (error) {
    const failure = reportFailure(ctx.emit, error);
    if (options.verbose && error instanceof Error && error.stack) renderer.printStack(error);
    exitCode = failure.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await renderer.close();
  }
  if (signalExit !== undefined && exitCode === 0) exitCode = signalExit;
  process.exitCode = exitCode;
  // Open handles (watch streams, sockets) must not keep a finished command alive.
  setImmediate(() => process.exit(exitCode)).unref();
}
