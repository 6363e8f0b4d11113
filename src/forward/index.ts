/**
 * Port-forwarding for a session: the config's portForward entries, plus (with --port-forward)
 * every Service this config deployed. Each forward owns its local listener for the whole session;
 * `refresh()` after a redeploy re-reads the resources and adds forwards for new Services.
 */
import type { PortForward } from '@kubernetes/client-node';
import type { LoadedConfig } from '../config/types.js';
import { DevloopError } from '../errors.js';
import type { Emit } from '../events/bus.js';
import type { KubeClient } from '../kube/client.js';
import { labelSelector } from '../render/labels.js';
import { startForward, type Forward, type ForwardSpec, type ForwardTimeouts } from './forwarder.js';
import { resolveResource, type ResolvedResource } from './resolve.js';
import { findServicePort, parseResource, preferredLocalPort } from './select.js';

export { preferredLocalPort } from './select.js';

export interface StartPortForwardsOptions {
  kube: KubeClient;
  loaded: LoadedConfig;
  emit: Emit;
  signal: AbortSignal;
  /** Also forward every Service deployed by this config (`--port-forward`). */
  forwardAllServices: boolean;
  /** In `devloop dev`: only Services of this session (label devloop.dev/run-id). */
  runId?: string;
  timeouts?: Partial<ForwardTimeouts>;
}

export interface ForwardInfo {
  resource: string;
  namespace: string;
  port: number | string;
  address: string;
  localPort: number;
  pod: string | undefined;
}

export interface ForwardSession {
  forwards(): ForwardInfo[];
  /** After a redeploy: follow changed selectors/ports and forward Services that are new. */
  refresh(): Promise<void>;
  /** A live update restarted the process in these pods: end the connections bridged to them (see Forward.endConnections). */
  endConnections(pods: readonly { namespace: string; pod: string }[]): void;
  close(): Promise<void>;
}

export const DEFAULT_FORWARD_TIMEOUTS: ForwardTimeouts = { podWaitMs: 30_000, connectTimeoutMs: 10_000, replayMaxBytes: 1024 * 1024 };

interface Entry {
  namespace: string;
  spec: ForwardSpec;
  forward: Forward;
}

export async function startPortForwards(options: StartPortForwardsOptions): Promise<ForwardSession> {
  const { kube, loaded, emit, signal } = options;
  const timeouts = { ...DEFAULT_FORWARD_TIMEOUTS, ...options.timeouts };
  const { PortForward } = kube.lib;
  const portForward: PortForward = new PortForward(kube.kc);
  const entries: Entry[] = [];
  let closed = false;
  let closing: Promise<void> | undefined;

  const reserved = (): Set<number> => new Set(entries.map((e) => e.forward.localPort));

  const add = async (namespace: string, spec: Omit<ForwardSpec, 'localPort'> & { localPort?: number }, resolved: ResolvedResource, holdTimeout?: number): Promise<void> => {
    const full: ForwardSpec = { ...spec, localPort: spec.localPort ?? preferredLocalPort(resolved.nominalPort) };
    const own = holdTimeout === undefined ? timeouts : { ...timeouts, podWaitMs: holdTimeout };
    const forward = await startForward({ kube, portForward, spec: full, resolved, emit, timeouts: own, reserved: reserved() });
    if (closed) {
      await forward.close();
      return;
    }
    entries.push({ namespace, spec: full, forward });
  };

  const configured = loaded.config.portForward.map((entry) => ({
    entry,
    namespace: entry.namespace || kube.namespace,
  }));

  const addServices = async (): Promise<void> => {
    const selector = labelSelector(loaded.config.metadata.name, options.runId);
    const list = await kube.core.listNamespacedService({ namespace: kube.namespace, labelSelector: selector });
    for (const service of list.items) {
      const name = service.metadata?.name;
      if (!name || closed) continue;
      if (!service.spec?.selector || Object.keys(service.spec.selector).length === 0) continue; // nothing to forward to
      for (const sp of service.spec.ports ?? []) {
        if (sp.protocol && sp.protocol !== 'TCP') continue;
        const resource = `service/${name}`;
        const claimed = [
          ...configured.map((c) => ({ namespace: c.namespace, resource: c.entry.resource, port: c.entry.port })),
          ...entries.map((e) => ({ namespace: e.namespace, resource: e.spec.resource, port: e.spec.port })),
        ];
        const covered = claimed.some((c) => {
          const ref = parseResource(c.resource);
          return c.namespace === kube.namespace && ref?.kind === 'service' && ref.name === name && findServicePort(service, c.port) === sp;
        });
        if (covered) continue;
        const resolved = await resolveResource(kube, resource, sp.port, kube.namespace);
        await add(kube.namespace, { resource, port: sp.port, address: '127.0.0.1' }, resolved);
      }
    }
  };

  const onAbort = (): void => void session.close();
  const session: ForwardSession = {
    forwards: () =>
      entries.map((e) => ({
        resource: e.spec.resource,
        namespace: e.namespace,
        port: e.spec.port,
        address: e.spec.address,
        localPort: e.forward.localPort,
        pod: e.forward.target(),
      })),
    async refresh() {
      if (closed) return;
      for (const e of entries) {
        try {
          e.forward.update(await resolveResource(kube, e.spec.resource, e.spec.port, e.namespace));
        } catch (error) {
          const message = error instanceof DevloopError ? error.message : String(error);
          emit({ type: 'forward', resource: e.spec.resource, port: e.spec.port, localPort: e.forward.localPort, address: e.spec.address, status: 'error', message });
        }
      }
      if (options.forwardAllServices) await addServices();
    },
    endConnections(pods) {
      for (const e of entries) e.forward.endConnections(new Set(pods.filter((p) => p.namespace === e.namespace).map((p) => p.pod)));
    },
    close() {
      closed = true;
      signal.removeEventListener('abort', onAbort);
      closing ??= Promise.all(entries.map((e) => e.forward.close())).then(() => undefined);
      return closing;
    },
  };

  try {
    // Sequential on purpose: ports are chosen in config order, so the same config gets the same ports.
    for (const { entry, namespace } of configured) {
      const resolved = await resolveResource(kube, entry.resource, entry.port, namespace);
      await add(namespace, { resource: entry.resource, port: entry.port, address: entry.address || '127.0.0.1', localPort: entry.localPort }, resolved, entry.holdTimeout);
    }
    if (options.forwardAllServices) await addServices();
  } catch (error) {
    await session.close();
    throw error;
  }
  if (signal.aborted) await session.close();
  else signal.addEventListener('abort', onAbort, { once: true });
  return session;
}
