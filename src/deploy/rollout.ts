/**
 * Pure health rules per workload kind, following `kubectl rollout status`: a workload is done when
 * its controller observed the latest generation and every replica is updated and available.
 */

/** Loose shapes of the fields read here; objects come straight from the API as JSON. */
interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface Workload {
  kind?: string;
  metadata: { name: string; generation?: number; [key: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export type Verdict =
  | { state: 'waiting'; message: string }
  | { state: 'done'; message: string }
  | { state: 'failed'; reason: string; message: string };

const num = (value: unknown, fallback = 0): number => (typeof value === 'number' ? value : fallback);

function conditions(object: Workload): Condition[] {
  const list = object.status?.conditions;
  return Array.isArray(list) ? (list as Condition[]) : [];
}

function observed(object: Workload): boolean {
  const generation = num(object.metadata.generation);
  const observedGeneration = object.status?.observedGeneration;
  return typeof observedGeneration === 'number' && observedGeneration >= generation;
}

export function deploymentVerdict(object: Workload): Verdict {
  const name = object.metadata.name;
  if (!observed(object)) return { state: 'waiting', message: `${name}: waiting for the rollout to be observed` };
  const stuck = conditions(object).find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (stuck) {
    return { state: 'failed', reason: 'ProgressDeadlineExceeded', message: `deployment/${name} exceeded its progress deadline${stuck.message ? `: ${stuck.message}` : ''}` };
  }
  const desired = num(object.spec?.replicas, 1);
  const status = object.status ?? {};
  const updated = num(status.updatedReplicas);
  const total = num(status.replicas);
  const available = num(status.availableReplicas);
  const ready = num(status.readyReplicas);
  if (updated < desired) return { state: 'waiting', message: `${name}: ${updated}/${desired} replicas updated, ${ready}/${desired} ready` };
  if (total > updated) return { state: 'waiting', message: `${name}: ${total - updated} old replicas pending termination` };
  if (available < updated) return { state: 'waiting', message: `${name}: ${Math.min(ready, desired)}/${desired} replicas ready` };
  return { state: 'done', message: `${name}: ${desired}/${desired} replicas ready` };
}

export function statefulSetVerdict(object: Workload): Verdict {
  const name = object.metadata.name;
  const strategy = (object.spec?.updateStrategy ?? {}) as { type?: string; rollingUpdate?: { partition?: number } };
  if (strategy.type && strategy.type !== 'RollingUpdate') return { state: 'done', message: `${name}: ${strategy.type} (not checked)` };
  if (!observed(object)) return { state: 'waiting', message: `${name}: waiting for the rollout to be observed` };
  const desired = num(object.spec?.replicas, 1);
  const status = object.status ?? {};
  const ready = num(status.readyReplicas);
  if (ready < desired) return { state: 'waiting', message: `${name}: ${ready}/${desired} replicas ready` };
  const partition = strategy.rollingUpdate?.partition;
  if (typeof partition === 'number' && partition > 0) {
    const updated = num(status.updatedReplicas);
    if (updated < desired - partition) return { state: 'waiting', message: `${name}: ${updated}/${desired - partition} replicas updated` };
    return { state: 'done', message: `${name}: partitioned rollout complete` };
  }
  if (status.updateRevision !== status.currentRevision) {
    return { state: 'waiting', message: `${name}: ${num(status.updatedReplicas)}/${desired} replicas updated` };
  }
  return { state: 'done', message: `${name}: ${desired}/${desired} replicas ready` };
}

export function daemonSetVerdict(object: Workload): Verdict {
  const name = object.metadata.name;
  const strategy = (object.spec?.updateStrategy ?? {}) as { type?: string };
  if (strategy.type && strategy.type !== 'RollingUpdate') return { state: 'done', message: `${name}: ${strategy.type} (not checked)` };
  if (!observed(object)) return { state: 'waiting', message: `${name}: waiting for the rollout to be observed` };
  const status = object.status ?? {};
  const desired = num(status.desiredNumberScheduled);
  const updated = num(status.updatedNumberScheduled);
  const available = num(status.numberAvailable);
  if (updated < desired) return { state: 'waiting', message: `${name}: ${updated}/${desired} pods updated` };
  if (available < desired) return { state: 'waiting', message: `${name}: ${available}/${desired} pods ready` };
  return { state: 'done', message: `${name}: ${desired}/${desired} pods ready` };
}

export function jobVerdict(object: Workload): Verdict {
  const name = object.metadata.name;
  const all = conditions(object);
  const failed = all.find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
  if (failed) return { state: 'failed', reason: failed.reason ?? 'JobFailed', message: `job/${name} failed: ${failed.reason ?? ''}${failed.message ? ` (${failed.message})` : ''}` };
  if (all.some((c) => c.type === 'Complete' && c.status === 'True')) return { state: 'done', message: `${name}: complete` };
  const completions = num(object.spec?.completions, 1);
  return { state: 'waiting', message: `${name}: ${num(object.status?.succeeded)}/${completions} completions` };
}

export function podVerdict(object: Workload): Verdict {
  const name = object.metadata.name;
  const phase = object.status?.phase;
  if (phase === 'Succeeded') return { state: 'done', message: `${name}: succeeded` };
  if (phase === 'Failed') return { state: 'failed', reason: 'PodFailed', message: `pod/${name} failed${object.status?.message ? `: ${String(object.status.message)}` : ''}` };
  if (conditions(object).some((c) => c.type === 'Ready' && c.status === 'True')) return { state: 'done', message: `${name}: ready` };
  return { state: 'waiting', message: `${name}: not ready (${typeof phase === 'string' ? phase : 'Pending'})` };
}

/** The rule for a kind, or undefined for kinds that are healthy once applied (Services, ConfigMaps…). */
export function verdictRule(apiVersion: string, kind: string): ((object: Workload) => Verdict) | undefined {
  const key = `${apiVersion}/${kind}`;
  switch (key) {
    case 'apps/v1/Deployment':
      return deploymentVerdict;
    case 'apps/v1/StatefulSet':
      return statefulSetVerdict;
    case 'apps/v1/DaemonSet':
      return daemonSetVerdict;
    case 'batch/v1/Job':
      return jobVerdict;
    case 'v1/Pod':
      return podVerdict;
    default:
      return undefined;
  }
}
