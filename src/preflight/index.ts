/**
 * Pre-flight: before anything is compiled, check that what the command will need answers — the
 * Kubernetes API of the resolved kube context and the registries images will be pushed to — so a
 * missing cluster or registry fails in about a second instead of after a build. `preflightNeeds`
 * (pure) is the one place that decides what a command needs; `preflight` runs those checks in
 * parallel and hands the command the kube client it checked, so nothing is set up twice.
 */
import type { ImageDestination } from '../build/load.js';
import type { DevloopConfig, LoadedConfig } from '../config/types.js';
import { DevloopError, FailuresError, toDevloopError } from '../errors.js';
import type { RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { parseImageReference, registryBaseUrl } from '../registry/reference.js';
import { imageRepository } from '../tag/index.js';

/** Each check's bound: an answer from a healthy local or remote endpoint takes far less. */
const PREFLIGHT_TIMEOUT_MS = 2_000;

export type PreflightCommand = 'build' | 'render' | 'deploy' | 'run' | 'dev' | 'delete';

export interface PreflightNeeds {
  /** The Kubernetes API of the resolved context must answer. */
  kube: boolean;
  /** Registries that must answer `GET /v2/`, each with the artifacts pushed there. */
  registries: { host: string; images: string[] }[];
}

export interface NeedsInput {
  command: PreflightCommand;
  config: DevloopConfig;
  /** Where built images go (resolveDestination); undefined when the command builds nothing. */
  destination: ImageDestination | undefined;
}

/** Whether `command` builds images (and so may push them). */
export function commandBuilds(command: PreflightCommand, prebuilt: boolean): boolean {
  return command === 'build' || command === 'run' || command === 'dev' || (command === 'deploy' && !prebuilt);
}

/**
 * What `command` needs before it starts. render needs nothing; build talks to no cluster; a build
 * that does not push (--push=false, or a kind/k3d/minikube/docker-desktop context with push: auto)
 * needs no registry. An image without a registry host is left to the build's NO_REGISTRY error.
 */
export function preflightNeeds(input: NeedsInput): PreflightNeeds {
  const { command, config, destination } = input;
  const kube = command === 'run' || command === 'dev' || command === 'deploy' || command === 'delete';
  const registries = new Map<string, string[]>();
  if (destination?.kind === 'registry') {
    for (const artifact of config.build.artifacts) {
      const repo = imageRepository(config.build.defaultRepo, artifact.image);
      if (!repo.includes('/')) continue;
      let host: string;
      try {
        host = parseImageReference(repo).registry;
      } catch {
        continue; // an invalid name is the config's error, reported by the build
      }
      registries.set(host, [...(registries.get(host) ?? []), artifact.image]);
    }
  }
  return { kube, registries: [...registries].map(([host, images]) => ({ host, images })) };
}

export interface PreflightOptions {
  command: PreflightCommand;
  loaded: LoadedConfig;
  signal: AbortSignal;
  /** `--push` of build. */
  push?: boolean;
  /** deploy --build-artifacts: nothing is built. */
  prebuilt?: boolean;
  timeoutMs?: number;
  /** --skip-preflight: check nothing, only resolve the kube client the command needs. */
  skip?: boolean;
}

/**
 * Runs the checks `command` needs, in parallel. Returns the kube client when the command needs one
 * (checked: its API answered). Throws the failure, or a FailuresError when several checks failed.
 */
export async function preflight(options: PreflightOptions): Promise<{ kube?: KubeClient }> {
  const { command, loaded, signal } = options;
  const timeoutMs = options.timeoutMs ?? PREFLIGHT_TIMEOUT_MS;
  const config = loaded.config;
  const { resolveDestination } = await import('../build/load.js');
  const destination = commandBuilds(command, Boolean(options.prebuilt)) && config.build.artifacts.length > 0 ? await resolveDestination(config, options.push) : undefined;
  const needs = preflightNeeds({ command, config, destination });
  if (options.skip) return { kube: needs.kube ? await (await import('../kube/client.js')).kubeClientForConfig(config) : undefined };

  const kube = needs.kube ? checkKube(config, timeoutMs) : Promise.resolve(undefined);
  const registries = needs.registries.map((registry) => checkRegistry(registry, config.build.insecureRegistries, signal, timeoutMs));
  const settled = await Promise.allSettled([kube, ...registries]);
  signal.throwIfAborted();
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [{ error: toDevloopError(s.reason) }] : []));
  if (failures.length === 1) throw failures[0]!.error;
  if (failures.length > 1) {
    throw new FailuresError(failures, {
      code: 'PREFLIGHT_FAILED',
      // The iteration's reason; the events report each failure with its own hint.
      message: `pre-flight: ${failures.map((f) => f.error.message).join('; ')}`,
    });
  }
  return { kube: (settled[0] as PromiseFulfilledResult<KubeClient | undefined>).value };
}

/** Resolves the context exactly as the command will, then asks its API server for /version. */
async function checkKube(config: DevloopConfig, timeoutMs: number): Promise<KubeClient> {
  const kube = await (await import('../kube/client.js')).kubeClientForConfig(config);
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const version = kube.kc.makeApiClient(kube.lib.VersionApi);
    const answer = <T>(value: T) => new kube.lib.Observable(Promise.resolve(value));
    // The signal bounds the HTTP exchange only; credentials (an exec plugin) are obtained before it.
    const bounded = { pre: (request: RequestContext) => (request.setSignal(deadline), answer(request)), post: (response: ResponseContext) => answer(response) };
    await version.getCode({}, { middleware: [bounded], middlewareMergeStrategy: 'append' });
  } catch (error) {
    const { explainKubeError, httpStatusOf } = await import('../deploy/errors.js');
    const status = httpStatusOf(error);
    // Any HTTP answer but 401 means a server is there and took the credentials (403: RBAC on /version).
    if (status !== undefined && status !== 401) return kube;
    if (deadline.aborted) {
      throw new DevloopError('KUBE_UNREACHABLE', `the Kubernetes API at ${kube.server} (context "${kube.contextName}") did not answer within ${timeoutMs / 1000}s`, {
        hint: 'is the cluster running? check `kubectl cluster-info`, or pick another context with --kube-context',
      });
    }
    throw explainKubeError(error, kube, { action: 'GET /version' });
  }
  return kube;
}

/** `GET /v2/` answered at all (200, or 401 for a registry that wants credentials) is enough here. */
async function checkRegistry(registry: { host: string; images: string[] }, insecure: string[], signal: AbortSignal, timeoutMs: number): Promise<void> {
  const { pingRegistry } = await import('../build/head.js');
  const answer = await pingRegistry(`${registry.host}/x`, { insecureRegistries: insecure }, signal, timeoutMs);
  if (answer.kind !== 'unreachable') return; // a 5xx is the push's to retry
  const url = `${registryBaseUrl(registry.host, insecure)}/v2/`;
  const tls = /SSL|TLS|EPROTO|CERT/i.test(answer.reason);
  throw new DevloopError('REGISTRY_UNREACHABLE', `registry ${registry.host} does not answer (${answer.reason} on GET ${url}); ${registry.images.join(', ')} would be pushed there`, {
    hint: tls
      ? `if ${registry.host} speaks plain HTTP, list it in build.insecureRegistries`
      : 'start the registry, or push elsewhere: build.defaultRepo / --default-repo, or --push=false (build only)',
  });
}
