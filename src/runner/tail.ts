/**
 * `devloop run --tail [--port-forward]`: after a deploy, stream the logs of the pods devloop deployed
 * and keep the forwards up until the command is interrupted, then close every stream and listener.
 */
import type { LoadedConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import type { KubeClient } from '../kube/client.js';
import { startPortForwards, type ForwardSession } from '../forward/index.js';
import { startLogStreams } from '../logs/index.js';
import { labelSelector } from '../render/labels.js';

export interface TailAndForwardOptions {
  kube: KubeClient;
  loaded: LoadedConfig;
  emit: Emit;
  /** Runs until this aborts (Ctrl-C). */
  signal: AbortSignal;
  /** Also forward every Service this config deployed, besides the config's portForward entries. */
  portForward: boolean;
  /** Only pods of this session (label devloop.dev/run-id), in `devloop dev`. */
  runId?: string;
}

export async function tailAndForward(options: TailAndForwardOptions): Promise<void> {
  const { kube, loaded, emit, signal } = options;
  if (signal.aborted) return;
  // Our own controller: everything started here is closed here, whatever the caller does next.
  const local = new AbortController();
  const logs = startLogStreams({
    kube,
    emit,
    signal: local.signal,
    namespace: kube.namespace,
    labelSelector: labelSelector(loaded.config.metadata.name, options.runId),
  });
  let forwards: ForwardSession | undefined;
  try {
    forwards = await startPortForwards({ kube, loaded, emit, signal: local.signal, forwardAllServices: options.portForward, runId: options.runId });
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    local.abort();
    await Promise.all([logs.close(), forwards?.close()]);
  }
}
