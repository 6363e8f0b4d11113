/**
 * Pure choices behind a forward: which pod serves, which container port a Service port lands on.
 * No I/O here, so every rule is unit-tested with plain objects.
 */
import type { V1LabelSelector, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';

/** The pod's Ready condition is True. */
export function isPodReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Serving means: Running, Ready condition True, and not being deleted (a terminating pod may still say Ready). */
export function isPodServing(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return isPodReady(pod);
}

function createdMs(pod: V1Pod): number {
  const created = pod.metadata?.creationTimestamp;
  if (!created) return 0;
  const ms = created instanceof Date ? created.getTime() : Date.parse(String(created));
  return Number.isNaN(ms) ? 0 : ms;
}

export interface PodCandidate {
  pod: V1Pod;
  /** Order in which the watch first saw the pod: breaks ties of second-resolution creationTimestamps. */
  seq: number;
}

/**
 * The newest serving pod among `candidates` for which `portFor` resolves, or undefined.
 * Newest wins because after a rollout the new ReplicaSet's pod is the one that keeps running.
 */
export function chooseServingPod<T extends PodCandidate>(
  candidates: Iterable<T>,
  portFor: (pod: V1Pod) => number | undefined,
): { candidate: T; port: number } | undefined {
  let best: { candidate: T; port: number } | undefined;
  for (const candidate of candidates) {
    if (!isPodServing(candidate.pod)) continue;
    const port = portFor(candidate.pod);
    if (port === undefined) continue;
    if (!best || newer(candidate, best.candidate)) best = { candidate, port };
  }
  return best;
}

function newer(a: PodCandidate, b: PodCandidate): boolean {
  const diff = createdMs(a.pod) - createdMs(b.pod);
  return diff !== 0 ? diff > 0 : a.seq > b.seq;
}

/** `matchLabels` + `matchExpressions` as a label selector query string ("a=b,c in (x,y)"). */
export function labelSelectorString(selector: V1LabelSelector | Record<string, string> | undefined): string {
  if (!selector) return '';
  const isLabelSelector = 'matchLabels' in selector || 'matchExpressions' in selector;
  const labels = (isLabelSelector ? (selector as V1LabelSelector).matchLabels : (selector as Record<string, string>)) ?? {};
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  if (isLabelSelector) {
    for (const e of (selector as V1LabelSelector).matchExpressions ?? []) {
      const values = (e.values ?? []).join(',');
      if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
      else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
      else if (e.operator === 'Exists') parts.push(e.key);
      else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    }
  }
  return parts.join(',');
}

/** The Service port named or numbered `port` (a number matches `port`, a string matches `name`). */
export function findServicePort(service: V1Service, port: number | string): V1ServicePort | undefined {
  const ports = service.spec?.ports ?? [];
  if (typeof port === 'number') return ports.find((p) => p.port === port);
  const asNumber = /^\d+$/.test(port) ? Number(port) : undefined;
  return ports.find((p) => p.name === port) ?? (asNumber === undefined ? undefined : ports.find((p) => p.port === asNumber));
}

/** A container port of `pod` by number (taken as is) or by name (looked up in every container). */
export function containerPort(pod: V1Pod | undefined, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  for (const container of pod?.spec?.containers ?? []) {
    const found = container.ports?.find((p) => p.name === port);
    if (found) return found.containerPort;
  }
  return undefined;
}

/** Where a Service port lands on `pod`: its targetPort (number or the container's named port), else its port. */
export function serviceTargetPort(servicePort: V1ServicePort, pod: V1Pod): number | undefined {
  const target = servicePort.targetPort;
  if (target === undefined || target === null || target === '') return servicePort.port;
  return containerPort(pod, target as number | string);
}

/** Lowest local port devloop proposes for a remote port: itself when unprivileged, else 8000+port (80 → 8080). */
export function preferredLocalPort(remotePort: number): number {
  return remotePort >= 1024 ? remotePort : 8000 + remotePort;
}

export interface ResourceRef {
  kind: 'service' | 'deployment' | 'pod';
  name: string;
}

/** Parses "service/x", "svc/x", "deployment/x", "deploy/x", "pod/x"; undefined when it is none of them. */
export function parseResource(resource: string): ResourceRef | undefined {
  const match = /^([a-z.]+)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(resource.trim());
  if (!match) return undefined;
  const kinds: Record<string, ResourceRef['kind']> = {
    service: 'service', services: 'service', svc: 'service',
    deployment: 'deployment', deployments: 'deployment', deploy: 'deployment', 'deployment.apps': 'deployment',
    pod: 'pod', pods: 'pod', po: 'pod',
  };
  const kind = kinds[match[1]!];
  return kind ? { kind, name: match[2]! } : undefined;
}
