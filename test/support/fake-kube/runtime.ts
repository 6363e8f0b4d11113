/**
 * The PodRuntime is the fake's "container runtime + kubelet data plane": the fake's pod lifecycle
 * (controllers/kubelet.ts) decides WHEN containers start and stop and what the API shows; the runtime
 * decides WHAT runs and where connections, logs and files go. Two implementations:
 *  - SimulatedRuntime (simulated-runtime.ts, the default): an HTTP server per declared containerPort
 *    on 127.0.0.1, a folder standing for the container filesystem, generated log lines.
 *  - a docker runtime (added by the dev-loop work, `docker-runtime.ts`): real containers.
 */
import type { FakePod } from './types.js';
import type { LogBuffer } from './logbuffer.js';

export type { LogBuffer, LogLine } from './logbuffer.js';

/** What happened when the runtime tried to start one container. */
export type ContainerStart =
  | { name: string; state: 'running'; startedAt?: Date; imageID?: string; containerID?: string }
  | {
      name: string;
      state: 'waiting';
      /** Kubelet reason, e.g. ErrImagePull, CreateContainerError. ErrImagePull turns into ImagePullBackOff. */
      reason: string;
      message: string;
    }
  | {
      name: string;
      state: 'terminated';
      exitCode: number;
      reason: string;
      message?: string;
      startedAt?: Date;
      finishedAt?: Date;
      imageID?: string;
      containerID?: string;
    };

export interface ContainerExit {
  exitCode: number;
  /** "Completed" for 0, "Error" otherwise, "OOMKilled"… as a kubelet reports it. */
  reason: string;
  finishedAt: Date;
}

export interface Endpoint {
  host: '127.0.0.1';
  port: number;
}

export interface ExecIO {
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  tty: boolean;
}

/** `${namespace}/${name}` of a pod; runtimes key everything by it. */
export type PodKey = string;

export function podKeyOf(pod: { metadata: { namespace?: string; name?: string } }): PodKey {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

export interface PodRuntime {
  /**
   * Starts every (non-init) container of a scheduled pod: pulls (checks) images, then runs them.
   * Resolves once each container is running, or waiting with a reason (image missing…), or already
   * terminated. Called again after a crash back-off or when an image pull is retried.
   */
  start(pod: FakePod): Promise<ContainerStart[]>;
  /** Stops and forgets every container of the pod (deletion, eviction, restart). Idempotent. */
  stop(pod: FakePod): Promise<void>;
  /** Containers that end on their own (a Job's work is done, a real process crashed) are reported here. */
  onExit(listener: (podKey: PodKey, container: string, exit: ContainerExit) => void): () => void;
  /** Where a connection to the container's port goes (the port-forward handler dials it), if anywhere. */
  endpoint(podKey: PodKey, container: string, containerPort: number): Endpoint | undefined;
  /** The container's log (current instance), if it ever ran. */
  logs(podKey: PodKey, container: string): LogBuffer | undefined;
  /** A host folder standing for the container's filesystem (`/` of the container), for exec/sync. */
  rootDir(podKey: PodKey, container: string): string | undefined;
  /** Whether `tar` is available inside the container (kubectl cp / sync use it). */
  hasTar(podKey: PodKey, container: string): boolean;
  /** Optional: whether another program the exec emulation knows (sh, head, rm…) is there. Default: yes. */
  hasBinary?(podKey: PodKey, container: string, binary: string): boolean;
  /** Optional: run a command in the container (the exec handler falls back to its own emulation). */
  exec?(podKey: PodKey, container: string, command: string[], io: ExecIO): Promise<{ exitCode: number }>;
  /** Releases everything (servers, containers, temp folders). */
  close(): Promise<void>;
}
