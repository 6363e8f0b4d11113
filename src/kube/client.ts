/**
 * The one place devloop talks to a kubeconfig. It respects the file exactly (KUBECONFIG, context,
 * namespace, auth plugins, certificates) by delegating to @kubernetes/client-node, which is
 * imported lazily: it is the heaviest module devloop loads.
 */
import { loadBundle } from '../util/bundled.js';
import type * as k8s from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { DevloopConfig } from '../config/types.js';
import { DevloopError } from '../errors.js';

/** True when a kubeconfig file, or the in-cluster service account, is there to load. */
function kubeconfigSourceExists(): boolean {
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) return fromEnv.split(delimiter).some((file) => file !== '' && existsSync(file));
  if (existsSync(join(homedir(), '.kube', 'config'))) return true;
  return Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

function missingKubeconfig(): DevloopError {
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) {
    return new DevloopError('KUBECONFIG_MISSING', `no kube context: $KUBECONFIG is ${fromEnv}, and no such file exists`, {
      hint: "point $KUBECONFIG at your cluster's kubeconfig, or unset it to use ~/.kube/config",
    });
  }
  return new DevloopError('KUBECONFIG_MISSING', 'no kube context: $KUBECONFIG is unset and ~/.kube/config does not exist', {
    hint: "set $KUBECONFIG to your cluster's kubeconfig, or create ~/.kube/config and run `kubectl config use-context NAME`",
  });
}

export interface KubeClient {
  kc: k8s.KubeConfig;
  /** Context actually in use. */
  contextName: string;
  /** Namespace for objects that name none: --namespace, deploy.namespace, the context's, else "default". */
  namespace: string;
  /** Server URL of the context's cluster, for messages. */
  server: string;
  objects: k8s.KubernetesObjectApi;
  core: k8s.CoreV1Api;
  lib: typeof k8s;
}

export interface KubeClientOptions {
  /** Context name; empty means the kubeconfig's current context. */
  context?: string;
  /** Namespace override; empty means the context's namespace. */
  namespace?: string;
}

/**
 * `npm run build` bundles client-node with its dependencies into one minified CommonJS file:
 * importing its ~1,000 modules one by one cost ~0.9 s on every command that talks to a cluster, the
 * bundle ~0.12 s, and with V8's code cache ~0.05 s (util/bundled.ts).
 */
let clientLibrary: Promise<typeof k8s> | undefined;
function kubernetesLibrary(): Promise<typeof k8s> {
  clientLibrary ??= loadBundle<typeof k8s>(new URL('../vendor/kubernetes-client.cjs', import.meta.url), () => import('@kubernetes/client-node'));
  return clientLibrary;
}

async function loadKubeConfig(context?: string): Promise<{ kc: k8s.KubeConfig; lib: typeof k8s }> {
  // Before the heavy import, so a missing kubeconfig fails at once; client-node would invent a
  // `loaded-context` pointing at http://localhost:8080 instead.
  if (!kubeconfigSourceExists()) throw missingKubeconfig();
  const lib = await kubernetesLibrary();
  const kc = new lib.KubeConfig();
  reuseAgents(kc);
  try {
    kc.loadFromDefault();
  } catch (error) {
    throw new DevloopError('KUBECONFIG_INVALID', `cannot read kubeconfig: ${(error as Error).message}`, {
      hint: 'check $KUBECONFIG or ~/.kube/config',
      cause: error,
    });
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new DevloopError('KUBE_CONTEXT_UNKNOWN', `kube context "${context}" is not in the kubeconfig`, {
        hint: known.length ? `known contexts: ${known.join(', ')}` : 'the kubeconfig has no contexts',
      });
    }
    kc.setCurrentContext(context);
  }
  return { kc, lib };
}

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => unknown;

/**
 * client-node 1.x makes a new https.Agent for every request, so every API call (each watch, each status
 * read, each apply) opened a new TLS connection and parsed the CA again: in `devloop dev` that was about
 * a third of devloop's own CPU per iteration, taken from the compiler and docker beside it. One kept-alive
 * agent per distinct set of TLS options (CA, client certificate and key, server name, verification, proxy)
 * serves them all; a rotated client certificate gives new options, hence a new agent. WebSocket streams
 * (exec, port-forward) get the same agent: an upgraded connection leaves its pool.
 */
function reuseAgents(kc: k8s.KubeConfig): void {
  const target = kc as unknown as { createAgent: AgentFactory };
  const create = target.createAgent.bind(kc);
  const agents = new Map<string, unknown>();
  target.createAgent = (cluster, options) => {
    const { server, proxyUrl } = (cluster ?? {}) as { server?: string; proxyUrl?: string };
    const key = JSON.stringify([server, proxyUrl, options]); // Buffers (CA, cert, key) serialise by content
    let agent = agents.get(key);
    if (!agent) {
      // Also one TLS context (direct https only): every new connection (each port-forward stream is one) otherwise parses the CA and key again.
      const direct = !proxyUrl && Boolean(server?.startsWith('https:'));
      const secureContext = direct && (options.ca || options.cert || options.pfx) ? createSecureContext(options as SecureContextOptions) : undefined;
      agent = create(cluster, { ...options, keepAlive: true, ...(secureContext ? { secureContext } : {}) });
      agents.set(key, agent);
    }
    return agent;
  };
}

/** Name of the kubeconfig's current context, or "" when there is none (no heavy import for this). */
export async function currentContextName(context?: string): Promise<string> {
  if (context) return context;
  try {
    const { kc } = await loadKubeConfig();
    return kc.getCurrentContext() ?? '';
  } catch {
    return '';
  }
}

/** The client for a config's deploy.kubeContext (--kube-context) and deploy.namespace (-n), as every command uses it. */
export function kubeClientForConfig(config: Pick<DevloopConfig, 'deploy'>): Promise<KubeClient> {
  return createKubeClient({ context: config.deploy.kubeContext || undefined, namespace: config.deploy.namespace || undefined });
}

export async function createKubeClient(options: KubeClientOptions = {}): Promise<KubeClient> {
  const { kc, lib } = await loadKubeConfig(options.context);
  const contextName = kc.getCurrentContext();
  const contextObject = contextName ? kc.getContextObject(contextName) : null;
  const cluster = kc.getCurrentCluster();
  if (!contextObject || !cluster) {
    throw new DevloopError('KUBE_NO_CONTEXT', 'no Kubernetes context is selected', {
      hint: 'set one with `kubectl config use-context NAME`, or pass --kube-context',
    });
  }
  return {
    kc,
    contextName,
    namespace: options.namespace || contextObject.namespace || 'default',
    server: cluster.server,
    objects: lib.KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(lib.CoreV1Api),
    lib,
  };
}
