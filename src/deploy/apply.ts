/**
 * Apply: server-side apply (fieldManager "devloop", force) of the rendered objects. Namespaces and
 * CRDs go first (and CRDs must be Established before their custom resources); every kind is
 * resolved through discovery before anything else is written, so an unknown kind changes nothing.
 * Servers older than 1.16 answer 415 to apply patches: then create-or-patch, with one notice.
 */
import type { Emit } from '../events/bus.js';
import { DevloopError } from '../errors.js';
import type { KubeObject, ManifestObject } from '../render/types.js';
import { describeObject } from '../render/types.js';
import { APPLIED_FROM_ANNOTATION, APPLY_ID_ANNOTATION, nullAbsentRunId } from '../render/labels.js';
import { containerImagesOf } from '../render/images.js';
import { groupOf, type DeployApi, type ObjectRef } from './api.js';
import { explainKubeError, httpStatusOf, statusOf, wrongType } from './errors.js';
import { withRetry } from './retry.js';
import { watchCollection } from './watch.js';

export const FIELD_MANAGER = 'devloop';
const APPLY_CONCURRENCY = 4;
const CRD_ESTABLISHED_TIMEOUT_MS = 60_000;

export interface AppliedObject extends ObjectRef {
  uid?: string;
  /** metadata.generation after the apply: status checks wait for the controller to observe it. */
  generation?: number;
  /** Container images of the pod spec as the server stored them (after admission): status notices a later change. */
  images?: string[];
}

/** Who applies: written as annotations on every object, so another apply over ours can be told apart. */
export interface ApplyStamp {
  /** Unique per apply (per `deployBuilt` call). */
  id: string;
  /** "host:project-dir", shown to whoever's apply was overwritten. */
  from: string;
}

export interface ApplyOptions {
  api: DeployApi;
  objects: readonly ManifestObject[];
  /** Annotations naming this apply (deploys set it; absent in unit tests that do not care). */
  stamp?: ApplyStamp;
  emit: Emit;
  signal: AbortSignal;
}

/** Applies `objects` in a safe order; returns what the server now holds, in input order. */
export async function applyObjects(options: ApplyOptions): Promise<AppliedObject[]> {
  const { api, signal } = options;
  const results = new Map<ManifestObject, AppliedObject>();
  const first = options.objects.filter((o) => isNamespace(o.object) || isCrd(o.object));
  const rest = options.objects.filter((o) => !first.includes(o));

  for (const item of first) {
    signal.throwIfAborted();
    results.set(item, await applyOne(options, await prepare(api, item, options.stamp)));
  }
  const crds = first.filter((o) => isCrd(o.object));
  if (crds.length > 0) await waitForCrdsEstablished(api, crds, signal);

  // Resolve every kind before writing anything else: an unknown kind fails the whole apply cleanly.
  const prepared: { item: ManifestObject; object: KubeObject }[] = [];
  for (const item of rest) prepared.push({ item, object: await prepare(api, item, options.stamp) });

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < prepared.length) {
      signal.throwIfAborted();
      const entry = prepared[next++]!;
      results.set(entry.item, await applyOne(options, entry.object, entry.item));
    }
  };
  await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, prepared.length) }, worker));
  return options.objects.map((o) => results.get(o)!);
}

/** A copy of the object with its namespace settled by discovery: the configured one when it names none. */
async function prepare(api: DeployApi, item: ManifestObject, stamp: ApplyStamp | undefined): Promise<KubeObject> {
  const object = structuredClone(item.object);
  if (stamp) object.metadata.annotations = { ...(object.metadata.annotations ?? {}), [APPLY_ID_ANNOTATION]: stamp.id, [APPLIED_FROM_ANNOTATION]: stamp.from };
  let resource;
  try {
    resource = await withRetry(() => api.resolve(object.apiVersion, object.kind));
  } catch (error) {
    throw explainKubeError(error, api.kube, { action: 'discovery', object: describeObject(object), source: item.source });
  }
  if (!resource) {
    throw new DevloopError(
      'KUBE_UNKNOWN_KIND',
      `${item.source.file}:${item.source.line} ${describeObject(object)}: no resource for kind ${object.kind} in ${groupOf(object.apiVersion) ? 'group ' : ''}${object.apiVersion} — is its CRD installed?`,
      { hint: `check apiVersion and kind; \`kubectl api-resources\` lists what the cluster serves` },
    );
  }
  if (resource.namespaced) object.metadata.namespace ||= api.kube.namespace;
  else delete object.metadata.namespace;
  return object;
}

async function applyOne(options: ApplyOptions, object: KubeObject, item?: ManifestObject): Promise<AppliedObject> {
  const { api, signal } = options;
  const source = item?.source;
  const subject = { action: 'apply', object: describeObject(object), source };
  try {
    const result = await withRetry(async () => {
      if (!api.serverSideApplyUnsupported) {
        try {
          return await api.objects.patch(structuredClone(object), undefined, undefined, FIELD_MANAGER, true, api.kube.lib.PatchStrategy.ServerSideApply);
        } catch (error) {
          if (httpStatusOf(error) !== 415) throw error;
          if (!api.serverSideApplyUnsupported) {
            api.serverSideApplyUnsupported = true;
            options.emit({
              type: 'notice',
              level: 'warn',
              message: `the API server at ${api.kube.server} does not support server-side apply (HTTP 415); using create-or-patch instead`,
              hint: 'fields removed from a manifest are not removed from the cluster this way; Kubernetes ≥ 1.16 supports server-side apply',
            });
          }
        }
      }
      return createOrPatch(api, object);
    }, { signal });
    return {
      apiVersion: object.apiVersion,
      kind: object.kind,
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      name: object.metadata.name,
      uid: typeof result.metadata?.uid === 'string' ? result.metadata.uid : undefined,
      generation: typeof result.metadata?.generation === 'number' ? result.metadata.generation : undefined,
      images: containerImagesOf(result as KubeObject),
    };
  } catch (error) {
    throw explainKubeError(error, api.kube, subject);
  }
}

/** Pre-1.16 servers: patch what exists (strategic merge for built-in kinds, merge for custom ones), create what does not. */
async function createOrPatch(api: DeployApi, object: KubeObject): Promise<KubeObject> {
  const { PatchStrategy } = api.kube.lib;
  const strategy = isBuiltInGroup(groupOf(object.apiVersion)) ? PatchStrategy.StrategicMergePatch : PatchStrategy.MergePatch;
  const patch = structuredClone(object);
  nullAbsentRunId(patch);
  try {
    return await api.objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, strategy);
  } catch (error) {
    if (httpStatusOf(error) === 422 && /unrecognized type/.test(JSON.stringify(statusOf(error) ?? {}))) throw await withFieldNamed(api, object, error);
    if (httpStatusOf(error) !== 404) throw error;
  }
  return api.objects.create(structuredClone(object), undefined, undefined, FIELD_MANAGER);
}

/**
 * A strategic merge patch with a wrongly typed value fails without naming the field; a dry-run
 * create of the same object is decoded field by field and names it ("…spec.replicas of type int32").
 */
async function withFieldNamed(api: DeployApi, object: KubeObject, error: unknown): Promise<unknown> {
  try {
    await api.objects.create(structuredClone(object), undefined, 'All', FIELD_MANAGER);
  } catch (dryRun) {
    if (wrongType(statusOf(dryRun)?.message)) return dryRun;
  }
  return error;
}

async function waitForCrdsEstablished(api: DeployApi, crds: readonly ManifestObject[], signal: AbortSignal): Promise<void> {
  const names = new Set(crds.map((c) => c.object.metadata.name));
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, CRD_ESTABLISHED_TIMEOUT_MS);
  let established = false;
  try {
    await watchCollection(
      api,
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
      (objects) => {
        const ready = [...names].every((name) => {
          const conditions = (objects.get(`/${name}`)?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
          return conditions.some((c) => c.type === 'Established' && c.status === 'True');
        });
        if (ready) {
          established = true;
          controller.abort();
        }
      },
      controller.signal,
    );
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
  signal.throwIfAborted();
  if (!established) {
    throw new DevloopError('KUBE_CRD_NOT_ESTABLISHED', `CustomResourceDefinition ${[...names].join(', ')} not Established after ${CRD_ESTABLISHED_TIMEOUT_MS / 1000}s`, {
      hint: 'check the CRD with `kubectl describe crd NAME` (conditions NamesAccepted/Established)',
    });
  }
}

function isNamespace(object: KubeObject): boolean {
  return object.kind === 'Namespace' && object.apiVersion === 'v1';
}

function isCrd(object: KubeObject): boolean {
  return object.kind === 'CustomResourceDefinition' && groupOf(object.apiVersion) === 'apiextensions.k8s.io';
}

/** Groups served by kube-apiserver itself, where strategic merge patch is supported. */
function isBuiltInGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}
