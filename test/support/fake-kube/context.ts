/**
 * What the pod subresource handlers (portforward.ts, logs.ts, exec.ts) get from the router. The router
 * has already authenticated the request and found the pod (404 Status otherwise), so a handler only
 * deals with its protocol.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FakePod, KubeObject, Status } from './types.js';
import type { LogBuffer, PodKey, PodRuntime } from './runtime.js';
import { statuses, sendStatus, rejectUpgrade, sendJson } from './status.js';

export interface ObjectReader {
  /** An object by apiVersion + kind, a deep copy (undefined when absent). */
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Objects of a kind (any version of its group), optionally in one namespace; deep copies. */
  list(kind: string, namespace?: string): KubeObject[];
}

/** What /version says; handlers follow it where servers differ by version (exec protocols). */
export interface ServerVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

export interface SubresourceContext {
  namespace: string;
  /** The pod's name from the URL. */
  name: string;
  /** The request's query (container, follow, tailLines, command, ports…). Repeated keys: use getAll. */
  query: URLSearchParams;
  /** The pod as stored when the request arrived. */
  pod: FakePod;
  podKey: PodKey;
  /** Re-reads a pod (e.g. to notice it was deleted while streaming). */
  getPod(namespace: string, name: string): FakePod | undefined;
  objects: ObjectReader;
  runtime: PodRuntime;
  version: ServerVersion;
  /**
   * The log of a container: the kubelet's own buffer for simulated failures (CrashLoopBackOff) first,
   * else the runtime's. `previous` asks for the instance before the last restart.
   */
  logs(podKey: PodKey, container: string, previous?: boolean): LogBuffer | undefined;
  /**
   * Picks the container a request means, like the API server: the `container` query parameter, else
   * the only container, else the `kubectl.kubernetes.io/default-container` annotation; a 400 Status
   * ("a container name must be specified for pod x, choose one of: [a b]") otherwise.
   */
  resolveContainer(requested: string | null | undefined): { container: string } | { status: Status };
  /** Whether the container is running right now (logs/exec/portforward need that). */
  containerRunning(container: string): boolean;
  statuses: typeof statuses;
  sendStatus(res: ServerResponse, status: Status): void;
  sendJson(res: ServerResponse, code: number, body: unknown): void;
  /** For upgrade requests: write an HTTP error response on the raw socket and close it. */
  rejectUpgrade(socket: Duplex, status: Status): void;
  /** Whether a port-forward whose pod is deleted stalls (stays open, silent) instead of being reset (controls.stallPortForwardsOfGonePods). */
  stallWhenPodGone(): boolean;
}

export const statusHelpers = { statuses, sendStatus, rejectUpgrade, sendJson };
