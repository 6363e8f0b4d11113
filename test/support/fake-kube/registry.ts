/**
 * API semantics on top of the store, shared by the HTTP handlers and the in-process controllers
 * (which act as API clients, so their writes get resourceVersions, managedFields and watch events
 * like everyone else's): identity and system metadata, status-subresource wiping, defaulting,
 * validation, generation, no-op detection, finalizers and graceful deletion, namespaces, CRDs.
 */
import { randomUUID } from 'node:crypto';
import { Store, resourceKey, type StoreEvent } from './store.js';
import { Discovery, apiVersionOf, type ResourceInfo } from './discovery.js';
import { StatusError, statuses } from './status.js';
import { applyDefaults } from './defaults.js';
import { validate } from './validation.js';
import { checkApplyTypes, checkDecodeTypes, checkPatchTypes } from './typed.js';
import { clone, deepEqual, isObject, jsonPatch, mergePatch, strategicMerge } from './patch.js';
import { recordUpdate, serverSideApply } from './apply.js';
import type { KubeObject, Status } from './types.js';

export interface WriteOptions {
  /** Field manager (managedFields). */
  manager: string;
  dryRun?: boolean;
  /** Write only the status (the `/status` subresource). */
  subresource?: 'status';
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic';

export function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Ref for Status messages: group + plural. */
function ref(res: ResourceInfo) {
  return { group: res.group, resource: res.name };
}

function hasStatusSubresource(res: ResourceInfo): boolean {
  return res.subresources.includes('status');
}

/** How the API server serves an object: apiVersion/kind of the endpoint asked. */
function present(res: ResourceInfo, object: KubeObject): KubeObject {
  const out = clone(object);
  return { ...out, apiVersion: apiVersionOf(res), kind: res.kind };
}

function stripTimes(object: KubeObject): unknown {
  const copy = clone(object);
  for (const entry of copy.metadata.managedFields ?? []) (entry as { time?: string }).time = '';
  return copy;
}

export class Registry {
  constructor(
    readonly store: Store,
    readonly discovery: Discovery,
  ) {}

  /** The objects a fresh cluster has. */
  bootstrap(extraNamespaces: string[]): void {
    for (const name of new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', ...extraNamespaces])) {
      this.create(this.res('v1', 'Namespace'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { manager: 'kube-apiserver' });
    }
    this.create(
      this.res('v1', 'Node'),
      undefined,
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'fake-node', labels: { 'kubernetes.io/hostname': 'fake-node', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
        spec: {},
      },
      { manager: 'kubelet' },
    );
    const node = this.find(this.res('v1', 'Node'), undefined, 'fake-node')!;
    node.status = {
      capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: rfc3339(), lastTransitionTime: rfc3339() }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'fake-node' }],
      nodeInfo: { kubeletVersion: 'v1.30.4', containerRuntimeVersion: 'fake://1.0', operatingSystem: 'linux', architecture: 'amd64' },
    };
    this.update(this.res('v1', 'Node'), undefined, 'fake-node', node, { manager: 'kubelet', subresource: 'status' });
  }

  res(apiVersion: string, kind: string): ResourceInfo {
    const res = this.discovery.byKind(apiVersion, kind);
    if (!res) throw new Error(`fake-kube: no resource for ${apiVersion} ${kind}`);
    return res;
  }

  key(res: ResourceInfo): string {
    return resourceKey(res.group, res.name);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.store.subscribe(listener);
  }

  // ---- reads ----

  find(res: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const object = this.store.get(this.key(res), res.namespaced ? namespace : undefined, name);
    return object ? present(res, object) : undefined;
  }

  get(res: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const object = this.find(res, namespace, name);
    if (!object) throw new StatusError(statuses.notFound(ref(res), name));
    return object;
  }

  list(res: ResourceInfo, namespace?: string): KubeObject[] {
    return this.store.list(this.key(res), res.namespaced ? namespace : undefined).map((o) => present(res, o));
  }

  /** For tests: by apiVersion+kind (falls back to kind alone). */
  peek(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const res = this.discovery.byKind(apiVersion, kind) ?? this.discovery.byKindOnly(kind);
    return res ? this.find(res, namespace, name) : undefined;
  }

  peekList(kind: string, namespace?: string): KubeObject[] {
    const res = this.discovery.byKindOnly(kind);
    return res ? this.list(res, namespace) : [];
  }

  // ---- writes ----

  private checkNamespace(res: ResourceInfo, namespace: string | undefined, name: string): void {
    if (!res.namespaced) return;
    const ns = this.store.get(resourceKey('', 'namespaces'), undefined, namespace ?? '');
    if (!ns) throw new StatusError(statuses.notFound({ group: '', resource: 'namespaces' }, namespace ?? ''));
    if (ns.metadata.deletionTimestamp) {
      throw new StatusError(
        statuses.forbidden(ref(res), name, `unable to create new content in namespace ${namespace} because it is being terminated`),
      );
    }
  }

  private checkIdentity(res: ResourceInfo, namespace: string | undefined, body: KubeObject, urlName?: string): void {
    if (!isObject(body)) throw new StatusError(statuses.badRequest('the body of the request must be an object'));
    const expected = apiVersionOf(res);
    if (body.apiVersion && body.apiVersion !== expected && !(res.custom && body.apiVersion.startsWith(`${res.group}/`))) {
      throw new StatusError(statuses.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${expected})`));
    }
    if (body.kind && body.kind !== res.kind) {
      throw new StatusError(statuses.badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${res.kind})`));
    }
    body.metadata ??= {};
    if (res.namespaced) {
      if (body.metadata.namespace && namespace && body.metadata.namespace !== namespace) {
        throw new StatusError(statuses.badRequest('the namespace of the provided object does not match the namespace sent on the request'));
      }
    }
    if (urlName !== undefined && body.metadata.name && body.metadata.name !== urlName) {
      throw new StatusError(statuses.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${urlName})`));
    }
  }

  create(res: ResourceInfo, namespace: string | undefined, body: KubeObject, opts: WriteOptions): KubeObject {
    checkDecodeTypes(res, body);
    this.checkIdentity(res, namespace, body);
    const next = clone(body);
    next.apiVersion = apiVersionOf(res);
    next.kind = res.kind;
    if (res.namespaced) next.metadata.namespace = namespace ?? next.metadata.namespace;
    else delete next.metadata.namespace;
    if (!next.metadata.name && next.metadata.generateName) {
      next.metadata.name = `${next.metadata.generateName}${randomSuffix()}`;
    }
    const name = next.metadata.name ?? '';
    if (name) this.checkNamespace(res, next.metadata.namespace, name);
    if (name && this.store.get(this.key(res), next.metadata.namespace, name)) throw new StatusError(statuses.alreadyExists(ref(res), name));
    return this.commit(res, undefined, next, opts);
  }

  update(res: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, opts: WriteOptions): KubeObject {
    checkDecodeTypes(res, body);
    this.checkIdentity(res, namespace, body, name);
    const old = this.find(res, namespace, name);
    if (!old) throw new StatusError(statuses.notFound(ref(res), name));
    const wanted = body.metadata?.resourceVersion;
    if (wanted && wanted !== old.metadata.resourceVersion) throw new StatusError(statuses.conflict(ref(res), name));
    const next = clone(body);
    next.metadata.name = name;
    return this.commit(res, old, next, opts);
  }

  patch(res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions): KubeObject {
    const old = this.find(res, namespace, name);
    if (!old) throw new StatusError(statuses.notFound(ref(res), name));
    if (type === 'strategic') checkPatchTypes(res, patch);
    let next: KubeObject;
    if (type === 'json') next = jsonPatch(old, patch) as KubeObject;
    else if (type === 'merge') next = mergePatch(old, patch) as KubeObject;
    else next = strategicMerge(old, patch) as KubeObject;
    if (!isObject(next) || !isObject(next.metadata)) throw new StatusError(statuses.badRequest('the patch removed metadata'));
    // A patch carrying metadata.resourceVersion is a precondition, like an update's.
    const wanted = isObject(patch) && isObject((patch as KubeObject).metadata) ? (patch as KubeObject).metadata.resourceVersion : undefined;
    if (wanted && wanted !== old.metadata.resourceVersion) throw new StatusError(statuses.conflict(ref(res), name));
    if (next.metadata.name !== name) throw new StatusError(statuses.badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`));
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    return this.commit(res, old, next, opts);
  }

  /** Server-side apply; `created` says whether the object was new (201). */
  apply(res: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, opts: WriteOptions & { force: boolean }): { object: KubeObject; created: boolean } {
    this.checkIdentity(res, namespace, body, name);
    checkApplyTypes(res, namespace, name, body);
    if (!body.apiVersion || !body.kind) {
      throw new StatusError(statuses.badRequest(`${!body.apiVersion ? 'apiVersion' : 'kind'} must be set for apply`));
    }
    const old = this.find(res, namespace, name);
    if (!old) this.checkNamespace(res, namespace, name);
    const wanted = body.metadata?.resourceVersion;
    if (wanted && old && wanted !== old.metadata.resourceVersion) throw new StatusError(statuses.conflict(ref(res), name));
    if (wanted && !old) throw new StatusError(statuses.notFound(ref(res), name));
    const config = clone(body);
    config.metadata.name = name;
    if (res.namespaced) config.metadata.namespace = namespace;
    const merged = serverSideApply({
      live: old,
      config,
      manager: opts.manager,
      force: opts.force,
      apiVersion: body.apiVersion,
      custom: res.custom,
      statusSubresource: hasStatusSubresource(res),
    });
    return { object: this.commit(res, old, merged, { ...opts, applied: true }), created: !old };
  }

  /**
   * The common write path. `applied`: managedFields were already computed by server-side apply.
   */
  private commit(res: ResourceInfo, old: KubeObject | undefined, next: KubeObject, opts: WriteOptions & { applied?: boolean }): KubeObject {
    next.apiVersion = apiVersionOf(res);
    next.kind = res.kind;
    const meta = next.metadata;
    if (res.namespaced) meta.namespace = old?.metadata.namespace ?? meta.namespace;
    if (old) {
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (old.metadata[k] === undefined) delete meta[k];
        else (meta as Record<string, unknown>)[k] = old.metadata[k];
      }
      meta.resourceVersion = old.metadata.resourceVersion;
    } else {
      meta.uid = randomUUID();
      meta.creationTimestamp = rfc3339();
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
      delete meta.resourceVersion;
      delete meta.generation;
    }

    if (opts.subresource === 'status') {
      // Only the status changes through /status; everything else stays as stored.
      const status = next.status;
      const rest = clone(old!);
      rest.status = status;
      rest.metadata.managedFields = old!.metadata.managedFields;
      next = rest;
    } else if (hasStatusSubresource(res)) {
      // The main endpoint ignores status, and a created object starts with none.
      if (old) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      } else delete next.status;
      if (!old && res.kind === 'Pod') next.status = { phase: 'Pending', qosClass: 'BestEffort' };
      if (!old && res.kind === 'Namespace') next.status = { phase: 'Active' };
    }

    if (opts.subresource !== 'status') {
      applyDefaults(next, !old);
      if (old && res.kind === 'Service' && next.spec && old.spec?.clusterIP && next.spec.clusterIP === undefined) {
        next.spec.clusterIP = old.spec.clusterIP;
        next.spec.clusterIPs = old.spec.clusterIPs;
      }
      const causes = validate(next, old);
      if (causes.length) throw new StatusError(statuses.invalid(res.kind, res.group, next.metadata.name ?? '', causes));
    }

    if (res.generation) {
      const strip = (o: KubeObject) => {
        const { metadata: _m, status: _s, ...rest } = o;
        return rest;
      };
      meta.generation = old ? (deepEqual(strip(old), strip(next)) ? old.metadata.generation ?? 1 : (old.metadata.generation ?? 1) + 1) : 1;
      next.metadata.generation = meta.generation;
    }

    if (!opts.applied) {
      recordUpdate({
        old,
        next,
        manager: opts.manager,
        apiVersion: apiVersionOf(res),
        custom: res.custom,
        subresource: opts.subresource,
        statusSubresource: hasStatusSubresource(res),
      });
    }

    if (old && deepEqual(stripTimes(old), stripTimes(next))) return old; // nothing changed: no write, no event
    if (opts.dryRun) return present(res, next);

    if (res.kind === 'CustomResourceDefinition' && opts.subresource !== 'status') this.establish(next);

    const m = next.metadata;
    if (old && m.deletionTimestamp && !(m.finalizers ?? []).length && !((m.deletionGracePeriodSeconds ?? 0) > 0) && res.kind !== 'Namespace') {
      this.remove(res, next);
      return present(res, next);
    }
    return present(res, this.store.put(this.key(res), next));
  }

  /** CRDs become Established at once and their resources appear in discovery. */
  private establish(crd: KubeObject): void {
    const names = crd.spec?.names ?? {};
    const time = rfc3339();
    crd.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: time },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: time },
      ],
      acceptedNames: { plural: names.plural, singular: names.singular ?? String(names.kind ?? '').toLowerCase(), kind: names.kind, listKind: names.listKind ?? `${names.kind}List`, ...(names.shortNames ? { shortNames: names.shortNames } : {}) },
      storedVersions: (crd.spec?.versions ?? []).filter((v: { storage?: boolean }) => v.storage).map((v: { name: string }) => v.name),
    };
    this.discovery.addCRD(crd);
  }

  private remove(res: ResourceInfo, object: KubeObject): KubeObject | undefined {
    const gone = this.store.remove(this.key(res), object.metadata.namespace, object.metadata.name!);
    if (gone && res.kind === 'CustomResourceDefinition') {
      const spec = gone.spec ?? {};
      this.discovery.removeCRD(gone);
      this.store.dropResource(resourceKey(spec.group, spec.names?.plural));
    }
    return gone;
  }

  /**
   * DELETE. Returns what the API server answers: the object (still present with a
   * deletionTimestamp, or a deleted Pod) or a Success Status; `code` 200 or 202.
   */
  delete(res: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): { body: KubeObject | Status; code: number } {
    const object = this.find(res, namespace, name);
    if (!object) throw new StatusError(statuses.notFound(ref(res), name));
    const meta = object.metadata;
    if (opts.preconditions?.uid && opts.preconditions.uid !== meta.uid) {
      throw new StatusError(statuses.conflict(ref(res), name, `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${meta.uid}`));
    }
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== meta.resourceVersion) {
      throw new StatusError(
        statuses.conflict(ref(res), name, `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`),
      );
    }
    if (opts.dryRun) return { body: object, code: 200 };
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Foreground' : 'Background');
    const accepted = opts.orphanDependents === false ? 202 : 200;

    if (meta.deletionTimestamp) {
      // Already terminating: a zero grace period forces it (what the kubelet does once containers stopped).
      if (opts.gracePeriodSeconds === 0 && !(meta.finalizers ?? []).length && res.kind !== 'Namespace') {
        this.remove(res, object);
        return { body: object, code: 200 };
      }
      return { body: object, code: accepted };
    }

    if (policy === 'Orphan') this.orphanDependents(meta.uid!);

    const finalizers = [...(meta.finalizers ?? [])];
    if (policy === 'Foreground' && this.hasDependents(meta.uid!)) finalizers.push('foregroundDeletion');
    const grace = res.kind === 'Pod' && object.spec?.nodeName ? opts.gracePeriodSeconds ?? object.spec?.terminationGracePeriodSeconds ?? 30 : 0;

    if (finalizers.length || grace > 0 || res.kind === 'Namespace') {
      const next = clone(object);
      next.metadata.deletionTimestamp = rfc3339(new Date(Date.now() + grace * 1000));
      next.metadata.deletionGracePeriodSeconds = grace;
      if (finalizers.length) next.metadata.finalizers = finalizers;
      if (res.kind === 'Namespace') next.status = { ...next.status, phase: 'Terminating' };
      const stored = this.store.put(this.key(res), next);
      return { body: present(res, stored), code: accepted };
    }
    const gone = this.remove(res, object)!;
    if (res.kind === 'Pod') return { body: present(res, gone), code: 200 };
    return { body: statuses.success(ref(res), name, meta.uid), code: 200 };
  }

  /** Finishes deletion of a terminating object whose finalizers are done (namespaces, foreground). */
  finalizeNow(res: ResourceInfo, object: KubeObject): void {
    this.remove(res, object);
  }

  /** Every stored object, with its resource (controllers and GC walk these). */
  everything(): { res: ResourceInfo; object: KubeObject }[] {
    const out: { res: ResourceInfo; object: KubeObject }[] = [];
    const seen = new Set<string>();
    for (const res of this.discovery.all()) {
      const key = this.key(res);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const object of this.store.list(key)) out.push({ res, object });
    }
    return out;
  }

  dependentsOf(uid: string): { res: ResourceInfo; object: KubeObject }[] {
    return this.everything().filter(({ object }) => (object.metadata.ownerReferences ?? []).some((o) => o.uid === uid));
  }

  private hasDependents(uid: string): boolean {
    return this.dependentsOf(uid).length > 0;
  }

  private orphanDependents(uid: string): void {
    for (const { res, object } of this.dependentsOf(uid)) {
      const next = clone(object);
      next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((o) => o.uid !== uid);
      if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
      this.update(res, next.metadata.namespace, next.metadata.name!, present(res, next), { manager: 'kube-controller-manager' });
    }
  }
}

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5-character suffix generateName gets (k8s.io/apiserver names.SimpleNameGenerator). */
export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return out;
}

/** Hash rendered in the same alphabet (pod-template-hash, controller-revision-hash look like this). */
export function safeHash(text: string, length = 10): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ text.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  let n = BigInt(h1) * 0x100000000n + BigInt(h2);
  let out = '';
  while (out.length < length) {
    out += ALPHABET[Number(n % BigInt(ALPHABET.length))];
    n /= BigInt(ALPHABET.length);
    if (n === 0n) n = BigInt(h1 + out.length);
  }
  return out;
}
