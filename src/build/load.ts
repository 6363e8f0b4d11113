/**
 * Where a built image goes: a registry, or straight into a local cluster's image store.
 * `chooseDestination` is pure; the load commands (kind, k3d, minikube) are the I/O edge.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { DevloopConfig, PushMode } from '../config/types.js';
import { DevloopError } from '../errors.js';
import { runStreaming, displayCommand } from '../util/process.js';
import { abortError } from '../compile/index.js';
import type { Emit } from '../events/bus.js';

export type ImageDestination =
  | { kind: 'registry' }
  /** Only the local Docker daemon (push disabled, or docker-desktop whose cluster shares it). */
  | { kind: 'local'; reason: 'push disabled' | 'docker-desktop' }
  | { kind: 'kind'; cluster: string }
  | { kind: 'k3d'; cluster: string }
  /** Built against minikube's Docker daemon (`minikube docker-env`). */
  | { kind: 'minikube'; profile: string };

/**
 * `push: auto` pushes unless the kube context is a local cluster that can take images directly.
 * `override` is `--push=true|false`; it wins over the config.
 */
export function chooseDestination(push: PushMode, override: boolean | undefined, kubeContext: string): ImageDestination {
  const mode = override ?? push;
  if (mode === true) return { kind: 'registry' };
  if (mode === false) return { kind: 'local', reason: 'push disabled' };
  if (kubeContext.startsWith('kind-') && kubeContext.length > 5) return { kind: 'kind', cluster: kubeContext.slice(5) };
  if (kubeContext.startsWith('k3d-') && kubeContext.length > 4) return { kind: 'k3d', cluster: kubeContext.slice(4) };
  if (kubeContext === 'minikube') return { kind: 'minikube', profile: 'minikube' };
  if (kubeContext === 'docker-desktop' || kubeContext === 'docker-for-desktop') return { kind: 'local', reason: 'docker-desktop' };
  return { kind: 'registry' };
}

/** A stable name for the destination, part of the artifact cache key. */
export function destinationKey(destination: ImageDestination): string {
  switch (destination.kind) {
    case 'registry':
      return 'registry';
    case 'local':
      return 'local';
    case 'kind':
    case 'k3d':
      return `${destination.kind}:${destination.cluster}`;
    case 'minikube':
      return `minikube:${destination.profile}`;
  }
}

/** Whether the destination needs the kube context name at all (only `push: auto` does). */
function needsKubeContext(push: PushMode, override: boolean | undefined): boolean {
  return (override ?? push) === 'auto';
}

/**
 * Where a build of `config` puts its images: `--push` (`override`) wins over build.push; for
 * `auto`, deploy.kubeContext (--kube-context) or else the kubeconfig's current context decides.
 */
export async function resolveDestination(
  config: DevloopConfig,
  override: boolean | undefined,
  lookupContext: () => Promise<string> = currentContextLight,
): Promise<ImageDestination> {
  const kubeContext = needsKubeContext(config.build.push, override) ? config.deploy.kubeContext || (await lookupContext()) : '';
  return chooseDestination(config.build.push, override, kubeContext);
}

/** The kubeconfig files kubectl reads: $KUBECONFIG's list, else ~/.kube/config. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : [join(env.HOME ?? homedir(), '.kube', 'config')];
}

/**
 * The kubeconfig's current context without loading @kubernetes/client-node (the heaviest module):
 * kubectl's merge rule, the first file in $KUBECONFIG that sets current-context wins.
 */
export async function currentContextLight(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const files = kubeconfigFiles(env);
  const { parse } = await import('yaml');
  for (const file of files) {
    try {
      const doc = parse(await readFile(file, 'utf8')) as { 'current-context'?: unknown } | null;
      const name = doc?.['current-context'];
      if (typeof name === 'string' && name !== '') return name;
    } catch {
      // unreadable or not YAML: the deploy stage reports kubeconfig problems properly
    }
  }
  return '';
}

/** Environment from `minikube docker-env`, so `docker build` talks to minikube's daemon. */
export async function minikubeDockerEnv(profile: string, signal: AbortSignal): Promise<Record<string, string>> {
  const result = await runStreaming({ file: 'minikube', args: ['-p', profile, 'docker-env', '--shell', 'none'], cwd: process.cwd(), signal });
  if (result.canceled) throw abortError(signal);
  if (result.spawnErrorCode === 'ENOENT') {
    throw new DevloopError('MINIKUBE_NOT_FOUND', 'kube context "minikube" needs the minikube CLI, which is not on PATH', {
      hint: 'install minikube, or build and push to a registry with `--push=true`',
    });
  }
  if (result.exitCode !== 0) {
    throw new DevloopError('MINIKUBE_DOCKER_ENV', `\`minikube docker-env\` failed with exit code ${result.exitCode}`, {
      hint: 'is minikube running? (`minikube status`)',
    });
  }
  return parseDockerEnv(result.stdout.join('\n'));
}

/** Parses `KEY=value` or `export KEY="value"` lines. */
export function parseDockerEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(raw);
    if (!match) continue;
    env[match[1]!] = match[2]!.trim().replace(/^"(.*)"$/, '$1');
  }
  return env;
}

/** The command that puts a local image into a kind or k3d cluster. */
export function loadCommand(destination: ImageDestination, ref: string): string[] | undefined {
  if (destination.kind === 'kind') return ['kind', 'load', 'docker-image', '--name', destination.cluster, ref];
  if (destination.kind === 'k3d') return ['k3d', 'image', 'import', '-c', destination.cluster, ref];
  return undefined;
}

/** Loads `ref` from the local daemon into the cluster; a no-op for other destinations. */
export async function loadIntoCluster(
  destination: ImageDestination,
  ref: string,
  context: { image: string; emit: Emit; signal: AbortSignal },
): Promise<void> {
  const argv = loadCommand(destination, ref);
  if (!argv) return;
  const result = await runStreaming({
    file: argv[0]!,
    args: argv.slice(1),
    cwd: process.cwd(),
    signal: context.signal,
    onLine: (line, stream) => context.emit({ type: 'log', artifact: context.image, stage: 'push', stream, line }),
  });
  if (result.canceled) throw abortError(context.signal);
  if (result.spawnErrorCode === 'ENOENT') {
    throw new DevloopError('LOAD_TOOL_NOT_FOUND', `${context.image}: loading into ${destination.kind} needs the ${argv[0]} CLI, which is not on PATH`, {
      hint: `install ${argv[0]}, or push to a registry with \`--push=true\``,
    });
  }
  if (result.exitCode !== 0) {
    const last = [...result.tail].reverse().find((l) => l.trim() !== '') ?? '';
    throw new DevloopError('LOAD_FAILED', `${context.image}: \`${displayCommand(argv)}\` failed with exit code ${result.exitCode}${last ? `: ${last.trim()}` : ''}`, {
      hint: `is the ${destination.kind} cluster running?`,
    });
  }
}
