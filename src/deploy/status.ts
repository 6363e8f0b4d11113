/**
 * Status check: waits, with watches, until every applied workload is healthy; fails fast with an
 * explanation when a pod cannot become healthy (image pull, crash loop, scheduling), and at the
 * deadline names what is still waiting and why. Progress lines every few seconds.
 */
import type { Emit } from '../events/bus.js';
import { DevloopError } from '../errors.js';
import { APPLIED_FROM_ANNOTATION, APPLY_ID_ANNOTATION, labelSelector } from '../render/labels.js';
import { containerImagesOf } from '../render/images.js';
import type { KubeObject } from '../render/types.js';
import { FIELD_MANAGER, type AppliedObject } from './apply.js';
import { refName, type DeployApi, type ObjectRef } from './api.js';
import { describeProblem, isFatal, podProblem, problemHint, type PodLike, type PodProblem } from './diagnose.js';
import { explainKubeError } from './errors.js';
import { verdictRule, type Verdict, type Workload } from './rollout.js';
import { watchCollection, type WatchedObject } from './watch.js';

export interface StatusOptions {
  api: DeployApi;
  /** Everything applied; kinds without a health rule count as healthy. */
  applied: readonly AppliedObject[];
  /** The apply id written on the objects: another apply over them during the wait fails the check. */
  applyId?: string;
  configName: string;
  runId?: string;
  emit: Emit;
  signal: AbortSignal;
  timeoutMs: number;
  /** How often to emit progress lines (default 3 s). */
  progressIntervalMs?: number;
}

const LOG_LINES = 20;

interface Tracked {
  ref: AppliedObject;
  rule: (object: Workload) => Verdict;
  object?: Workload;
  verdict: Verdict;
  /** Last non-fatal pod explanation (readiness probe…), for progress lines and the deadline message. */
  note?: string;
  /** The state and message last emitted as a `workload` event (emitted only on change). */
  reported?: string;
}

/** Resolves when every workload is healthy; rejects with a DevloopError otherwise. */
export async function waitForHealthy(options: StatusOptions): Promise<void> {
  const { api, emit } = options;
  const tracked: Tracked[] = [];
  for (const ref of options.applied) {
    const rule = verdictRule(ref.apiVersion, ref.kind);
    if (rule) tracked.push({ ref, rule, verdict: { state: 'waiting', message: `${ref.name}: waiting for status` } });
  }
  if (tracked.length === 0) return;

  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  const pods = new Map<string, ReadonlyMap<string, WatchedObject>>();
  const readinessNotes = new Map<string, string>();
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const started = Date.now();

  try {
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };
      options.signal.addEventListener('abort', () => finish(options.signal.reason ?? new DevloopError('INTERRUPTED', 'interrupted')), { once: true });

      const evaluate = (): void => {
        if (settled) return;
        for (const item of tracked) {
          item.verdict = item.object ? item.rule(item.object) : { state: 'waiting', message: `${item.ref.name}: not found yet` };
          if (item.verdict.state === 'failed') {
            reportWorkload(emit, item, 'failed', item.verdict.message);
            return finish(new DevloopError('STATUS_FAILED', item.verdict.message, { hint: 'run `kubectl describe` on it for the events' }));
          }
          item.note = undefined;
          if (item.verdict.state === 'done') {
            reportWorkload(emit, item, 'ready', item.verdict.message);
            continue;
          }
          const problem = firstProblem(item, pods);
          if (problem && isFatal(problem)) {
            reportWorkload(emit, item, 'failed', describeProblem(refName(item.ref), problem));
            settled = true;
            void explainFatal(options, item, problem).then(reject, reject);
            return;
          }
          if (problem) item.note = readinessNotes.get(problem.pod) ?? describeProblem(refName(item.ref), problem);
          reportWorkload(emit, item, 'waiting', item.note ? `${item.verdict.message} — ${item.note}` : item.verdict.message);
        }
        if (tracked.every((t) => t.verdict.state === 'done')) finish();
      };

      const failWatch = (ref: ObjectRef | undefined) => (error: unknown) =>
        finish(explainKubeError(error, api.kube, { action: 'watch', object: ref ? `${ref.kind}/${ref.name}` : 'pods' }));

      for (const item of tracked) {
        watchCollection(
          api,
          { apiVersion: item.ref.apiVersion, kind: item.ref.kind, namespace: item.ref.namespace, fieldSelector: `metadata.name=${item.ref.name}` },
          (objects) => {
            item.object = objects.get(`${item.ref.namespace ?? ''}/${item.ref.name}`) as Workload | undefined;
            const overwritten = item.object && overwrittenError(item.ref, item.object, options.applyId);
            if (overwritten) return finish(overwritten);
            evaluate();
          },
          stop.signal,
        ).catch(failWatch(item.ref));
      }
      const namespaces = new Set(tracked.map((t) => t.ref.namespace ?? api.kube.namespace));
      for (const namespace of namespaces) {
        watchCollection(
          api,
          { apiVersion: 'v1', kind: 'Pod', namespace, labelSelector: labelSelector(options.configName, options.runId) },
          (objects) => {
            pods.set(namespace, objects);
            evaluate();
          },
          stop.signal,
        ).catch(failWatch(undefined));
      }

      timer = setTimeout(() => finish(deadlineError(options.timeoutMs, tracked)), options.timeoutMs);
      ticker = setInterval(() => {
        if (settled) return;
        void refreshReadinessNotes(api, tracked, pods, readinessNotes).then(evaluate, () => undefined);
        for (const item of tracked) {
          if (item.verdict.state === 'done') continue;
          const seconds = Math.round((Date.now() - started) / 1000);
          emit({ type: 'progress', stage: 'status', resource: refName(item.ref), message: `${item.verdict.message}${item.note ? ` — ${item.note}` : ''} (${seconds}s)` });
        }
      }, options.progressIntervalMs ?? 3000);
    });
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    options.signal.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** A `workload` event when the workload's state or message changed since the last one. */
function reportWorkload(emit: Emit, item: Tracked, state: 'waiting' | 'ready' | 'failed', message: string): void {
  const key = `${state} ${message}`;
  if (item.reported === key) return;
  item.reported = key;
  emit({ type: 'workload', resource: refName(item.ref), ...(item.ref.namespace ? { namespace: item.ref.namespace } : {}), state, message });
}

/** Pods that belong to a workload's current version: same namespace, selected by it, running its images. */
function podsOf(item: Tracked, pods: ReadonlyMap<string, ReadonlyMap<string, WatchedObject>>): PodLike[] {
  const all = [...(pods.get(item.ref.namespace ?? '')?.values() ?? [])] as unknown as PodLike[];
  const workload = item.object;
  if (!workload) return [];
  if (item.ref.kind === 'Pod') return all.filter((p) => p.metadata.name === item.ref.name);
  if (item.ref.kind === 'Job') {
    const uid = workload.metadata.uid;
    return all.filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === uid));
  }
  const selector = (workload.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  const template = (workload.spec?.template as { spec?: { containers?: { image?: string }[] } } | undefined)?.spec;
  const images = (template?.containers ?? []).map((c) => c.image).join(',');
  return all.filter((pod) => {
    const labels = pod.metadata.labels ?? {};
    if (!Object.entries(selector).every(([key, value]) => labels[key] === value)) return false;
    // Pods of the previous version may still be crashing while the new one rolls out: not our problem.
    return (pod.spec?.containers ?? []).map((c) => c.image).join(',') === images;
  });
}

function firstProblem(item: Tracked, pods: ReadonlyMap<string, ReadonlyMap<string, WatchedObject>>): PodProblem | undefined {
  const problems = podsOf(item, pods)
    .map(podProblem)
    .filter((p): p is PodProblem => p !== undefined);
  return problems.find(isFatal) ?? problems[0];
}

async function explainFatal(options: StatusOptions, item: Tracked, problem: PodProblem): Promise<DevloopError> {
  const workload = refName(item.ref);
  if (problem.kind === 'crash-loop') {
    const lines = await lastLogLines(options.api, item.ref.namespace ?? options.api.kube.namespace, problem.pod, problem.container);
    for (const line of lines.lines) options.emit({ type: 'log', line, pod: problem.pod, container: problem.container });
    const hint = lines.lines.length > 0 ? `its last ${lines.lines.length} log lines are shown above` : `no log lines available${lines.error ? ` (${lines.error})` : ''}`;
    return new DevloopError('STATUS_CRASH_LOOP', describeProblem(workload, problem), { hint: `the container exits right after starting; ${hint}` });
  }
  const code = problem.kind === 'image-pull' ? 'STATUS_IMAGE_PULL' : problem.kind === 'unschedulable' ? 'STATUS_UNSCHEDULABLE' : 'STATUS_CONTAINER_CONFIG';
  return new DevloopError(code, describeProblem(workload, problem), { hint: problemHint(problem) });
}

async function lastLogLines(api: DeployApi, namespace: string, pod: string, container: string): Promise<{ lines: string[]; error?: string }> {
  for (const previous of [true, false]) {
    try {
      const text = await api.kube.core.readNamespacedPodLog({ name: pod, namespace, container, tailLines: LOG_LINES, previous });
      const lines = String(text ?? '').split('\n');
      if (lines.at(-1) === '') lines.pop();
      if (lines.length > 0 || !previous) return { lines: lines.slice(-LOG_LINES) };
    } catch (error) {
      if (!previous) return { lines: [], error: explainKubeError(error, api.kube, { action: 'read logs', object: `pod/${pod}` }).message };
    }
  }
  return { lines: [] };
}

/** Latest "Readiness probe failed" event message of pods that run but are not ready. */
async function refreshReadinessNotes(
  api: DeployApi,
  tracked: readonly Tracked[],
  pods: ReadonlyMap<string, ReadonlyMap<string, WatchedObject>>,
  notes: Map<string, string>,
): Promise<void> {
  for (const item of tracked) {
    if (item.verdict.state === 'done') continue;
    for (const pod of podsOf(item, pods)) {
      if (podProblem(pod)?.kind !== 'not-ready') continue;
      const namespace = pod.metadata.namespace ?? item.ref.namespace ?? api.kube.namespace;
      const events = await api.kube.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod.metadata.name}` });
      const unhealthy = events.items
        .filter((e) => e.reason === 'Unhealthy' && e.message)
        .sort((a, b) => eventTime(a) - eventTime(b))
        .at(-1);
      if (unhealthy?.message) notes.set(pod.metadata.name, `${refName(item.ref)}: pod ${pod.metadata.name}: ${unhealthy.message.trim()}`);
    }
  }
}

function eventTime(event: { lastTimestamp?: Date; eventTime?: Date; metadata?: { creationTimestamp?: Date } }): number {
  const time = event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp;
  return time ? new Date(time).getTime() : 0;
}

/**
 * The object no longer is what this run applied: another devloop run applied over it (its apply id
 * differs), or someone changed its images. Health would then describe someone else's version.
 * The list behind a watch is a consistent read, so an object older than our apply is never seen.
 */
function overwrittenError(ref: AppliedObject, object: Workload, applyId: string | undefined): DevloopError | undefined {
  const annotations = (object.metadata.annotations ?? {}) as Record<string, string>;
  const theirId = annotations[APPLY_ID_ANNOTATION];
  const images = containerImagesOf(object as unknown as KubeObject);
  const imagesChanged = ref.images !== undefined && images.join(',') !== ref.images.join(',');
  const byDevloop = applyId !== undefined && theirId !== undefined && theirId !== applyId;
  if (!byDevloop && !imagesChanged) return undefined;
  const where = `${refName(ref)}${ref.namespace ? ` in namespace ${ref.namespace}` : ''}`;
  const who = byDevloop
    ? `another devloop run (from ${annotations[APPLIED_FROM_ANNOTATION] ?? 'an unknown place'}, apply ${theirId})`
    : lastWriter(object);
  const what = imagesChanged ? `: it now runs ${images.join(', ')} instead of ${ref.images!.join(', ')}` : '';
  return new DevloopError('STATUS_OVERWRITTEN', `${where} was changed by ${who} while devloop waited for it${what}`, {
    hint: byDevloop
      ? 'two devloop runs deploy the same objects into one namespace: give each copy its own namespace (-n) or stop the other run'
      : 'something else edits this object; stop it, or deploy again',
  });
}

/** Who changed the images, from metadata.managedFields: the owner of a container image, else the latest writer. */
function lastWriter(object: Workload): string {
  type Entry = { manager?: string; operation?: string; time?: string | Date; subresource?: string; fieldsV1?: unknown };
  const entries = ((object.metadata.managedFields ?? []) as Entry[]).filter((e) => !e.subresource && e.manager);
  const time = (e: Entry): number => (e.time ? new Date(e.time).getTime() : 0);
  // Changing a field takes its ownership from the previous manager: the image's owner made the change.
  const owner = entries.find((e) => e.manager !== FIELD_MANAGER && JSON.stringify(e.fieldsV1 ?? {}).includes('"f:image"'));
  const last = owner ?? [...entries].sort((a, b) => time(b) - time(a))[0];
  if (!last) return 'another writer';
  const when = last.time ? ` at ${new Date(last.time).toISOString()}` : '';
  return `field manager "${last.manager}" (${last.operation ?? 'write'}${when})`;
}

function deadlineError(timeoutMs: number, tracked: readonly Tracked[]): DevloopError {
  const waiting = tracked.filter((t) => t.verdict.state !== 'done');
  const what = waiting.map((t) => `${refName(t.ref)} (${t.verdict.message})`).join(', ');
  const notes = waiting.map((t) => t.note).filter(Boolean);
  return new DevloopError('STATUS_TIMEOUT', `not healthy after ${Math.round(timeoutMs / 1000)}s: ${what}`, {
    hint: notes.length > 0 ? notes.join('; ') : 'raise deploy.statusCheck.timeout (or --status-check-timeout), or inspect with `kubectl describe`',
  });
}

