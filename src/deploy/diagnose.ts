/**
 * Why pods are not becoming healthy, read from their status (pure): image pulls, crash loops,
 * scheduling, container config. Decides which problems end the wait at once.
 */
import { registryOf } from '../registry/reference.js';

export interface PodLike {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: { uid?: string; kind?: string; name?: string }[]; [key: string]: unknown };
  spec?: { containers?: { name: string; image?: string }[]; initContainers?: { name: string; image?: string }[]; [key: string]: unknown };
  status?: {
    phase?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    [key: string]: unknown;
  };
}

interface ContainerStatus {
  name: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: unknown; terminated?: { exitCode?: number; reason?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
}

export type PodProblem =
  | { kind: 'image-pull'; pod: string; container: string; image: string; registry: string; reason: string; message: string }
  | { kind: 'crash-loop'; pod: string; container: string; exitCode?: number; restarts: number; reason?: string }
  | { kind: 'unschedulable'; pod: string; message: string }
  | { kind: 'container-config'; pod: string; container: string; reason: string; message: string }
  | { kind: 'not-ready'; pod: string; containers: string[] };

const IMAGE_PULL_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** The most telling problem of a pod, or undefined when it looks fine (or is simply still starting). */
export function podProblem(pod: PodLike): PodProblem | undefined {
  const name = pod.metadata.name;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'unschedulable', pod: name, message: scheduled.message ?? 'no node fits the pod' };
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const images = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c.image ?? '']));
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason) continue;
    if (IMAGE_PULL_REASONS.has(waiting.reason)) {
      const image = images.get(status.name) || status.image || '';
      return { kind: 'image-pull', pod: name, container: status.name, image, registry: registryOf(image), reason: waiting.reason, message: waiting.message ?? '' };
    }
    if (waiting.reason === 'CrashLoopBackOff') {
      return { kind: 'crash-loop', pod: name, container: status.name, exitCode: status.lastState?.terminated?.exitCode, restarts: status.restartCount ?? 0, reason: status.lastState?.terminated?.reason };
    }
    if (CONFIG_REASONS.has(waiting.reason)) {
      return { kind: 'container-config', pod: name, container: status.name, reason: waiting.reason, message: waiting.message ?? '' };
    }
  }
  const notReady = (pod.status?.containerStatuses ?? []).filter((s) => s.state?.running && !s.ready).map((s) => s.name);
  if (notReady.length > 0) return { kind: 'not-ready', pod: name, containers: notReady };
  return undefined;
}

/** Problems that will not fix themselves within a status check: stop waiting and explain. */
export function isFatal(problem: PodProblem): boolean {
  return problem.kind !== 'not-ready';
}

/** One line explaining a problem, prefixed by the workload ("deployment/hello"). */
export function describeProblem(workload: string, problem: PodProblem): string {
  switch (problem.kind) {
    case 'image-pull':
      return `${workload}: cannot pull image ${problem.image} from registry ${problem.registry} (${problem.reason}${problem.message ? `: ${problem.message}` : ''})`;
    case 'crash-loop':
      return `${workload}: container ${problem.container} of pod ${problem.pod} keeps crashing (CrashLoopBackOff, exit code ${problem.exitCode ?? 'unknown'}${problem.reason && problem.reason !== 'Error' ? `, ${problem.reason}` : ''}, ${problem.restarts} restarts)`;
    case 'unschedulable':
      return `${workload}: pod ${problem.pod} cannot be scheduled: ${problem.message}`;
    case 'container-config':
      return `${workload}: container ${problem.container} of pod ${problem.pod} cannot start (${problem.reason}${problem.message ? `: ${problem.message}` : ''})`;
    case 'not-ready':
      return `${workload}: pod ${problem.pod} is running but not ready (${problem.containers.join(', ')})`;
  }
}

export function problemHint(problem: PodProblem): string {
  switch (problem.kind) {
    case 'image-pull':
      return `check that the image exists in ${problem.registry} and that the cluster can reach and authenticate to it (imagePullSecrets)`;
    case 'crash-loop':
      return 'the container exits right after starting; its last log lines are shown above';
    case 'unschedulable':
      return 'lower the pod’s resource requests, or fix its nodeSelector/affinity/tolerations';
    case 'container-config':
      return 'a referenced ConfigMap, Secret or key is probably missing';
    case 'not-ready':
      return 'check the readiness probe (path, port) and the container logs';
  }
}
