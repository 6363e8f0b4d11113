/**
 * Field ownership (metadata.managedFields, FieldsV1) and server-side apply, after
 * sigs.k8s.io/structured-merge-diff:
 *  - a field set is the set of leaf paths of an object; lists with keys contribute `k:{…}` items
 *    (with a `.` leaf for the item itself), atomic lists are one leaf;
 *  - Apply: the manager's set becomes exactly the applied config's fields; a field another manager
 *    owns whose value would change is a conflict (409) unless `force`, which takes it over; fields the
 *    manager applied before and no longer applies are removed unless someone else owns them;
 *  - Update (create/PUT/patch): the writer takes over the fields whose values it changed.
 * Simplified: no per-version schema conversion, maps are never "atomic", no `.` leaves for maps.
 */
import { defaultedKey, listKeys, SYSTEM_METADATA } from './schema.js';
import { clone, deepEqual, isObject } from './patch.js';
import { StatusError, statuses } from './status.js';
import type { FieldTree, KubeObject, ManagedFieldsEntry } from './types.js';

type Path = string[];
type Obj = Record<string, unknown>;

/** Leaf paths, each JSON-encoded (Set needs value identity). */
export type FieldSet = Set<string>;

export interface Scope {
  /** CRD-served: lists are atomic. */
  custom: boolean;
  /** Which part of the object: `main` (all but status when status is a subresource) or `status`. */
  part: 'main' | 'status' | 'all';
}

export function fieldSet(object: Obj, scope: Scope): FieldSet {
  const out: FieldSet = new Set();
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || value === undefined) continue;
    if (scope.part === 'main' && key === 'status') continue;
    if (scope.part === 'status' && key !== 'status') continue;
    if (key === 'metadata' && isObject(value)) {
      for (const [mk, mv] of Object.entries(value)) {
        if (SYSTEM_METADATA.has(mk) || mv === undefined) continue;
        walk(mv, ['f:metadata', `f:${mk}`], ['metadata', mk], scope.custom, out);
      }
      continue;
    }
    walk(value, [`f:${key}`], [key], scope.custom, out);
  }
  return out;
}

function itemKey(item: Obj, keys: string[], fieldPath: Path): string {
  const key: Obj = {};
  for (const k of [...keys].sort()) {
    const v = item[k] ?? defaultedKey(k, fieldPath);
    if (v !== undefined) key[k] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

function walk(value: unknown, elems: Path, fieldPath: Path, custom: boolean, out: FieldSet): void {
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (!entries.length) out.add(JSON.stringify(elems));
    for (const [k, v] of entries) walk(v, [...elems, `f:${k}`], [...fieldPath, k], custom, out);
    return;
  }
  if (Array.isArray(value)) {
    const keys = listKeys(fieldPath, custom);
    if (keys.ssa && value.length && value.every(isObject)) {
      for (const item of value as Obj[]) {
        const elem = itemKey(item, keys.ssa, fieldPath);
        out.add(JSON.stringify([...elems, elem, '.']));
        for (const [k, v] of Object.entries(item)) if (v !== undefined) walk(v, [...elems, elem, `f:${k}`], [...fieldPath, k], custom, out);
      }
      return;
    }
    if (keys.set && value.length && value.every((v) => !isObject(v) && !Array.isArray(v))) {
      for (const v of value) out.add(JSON.stringify([...elems, `v:${JSON.stringify(v)}`]));
      return;
    }
  }
  out.add(JSON.stringify(elems));
}

export function toTree(set: FieldSet): FieldTree {
  const root: FieldTree = {};
  for (const encoded of [...set].sort()) {
    let node = root;
    for (const elem of JSON.parse(encoded) as Path) node = node[elem] ??= {};
  }
  return root;
}

export function fromTree(tree: FieldTree | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: FieldTree, path: Path) => {
    const keys = Object.keys(node);
    if (!keys.length && path.length) out.add(JSON.stringify(path));
    for (const k of keys) visit(node[k]!, [...path, k]);
  };
  if (tree) visit(tree, []);
  return out;
}

function matchesKey(item: unknown, keyJson: string, fieldPath: Path): boolean {
  if (!isObject(item)) return false;
  const key = JSON.parse(keyJson) as Obj;
  return Object.entries(key).every(([k, v]) => deepEqual(item[k] ?? defaultedKey(k, fieldPath), v));
}

/** The value at a field path, `undefined` when absent. */
export function valueAt(object: unknown, path: Path): unknown {
  let node = object;
  const fieldPath: Path = [];
  for (const elem of path) {
    if (node === undefined) return undefined;
    if (elem === '.') return node;
    if (elem.startsWith('f:')) {
      node = isObject(node) ? node[elem.slice(2)] : undefined;
      fieldPath.push(elem.slice(2));
    } else if (elem.startsWith('k:')) {
      node = Array.isArray(node) ? node.find((item) => matchesKey(item, elem.slice(2), fieldPath)) : undefined;
    } else if (elem.startsWith('v:')) {
      const wanted = JSON.parse(elem.slice(2));
      node = Array.isArray(node) ? node.find((item) => deepEqual(item, wanted)) : undefined;
    }
  }
  return node;
}

/** Removes the field (or list item, for paths ending in `.` or `v:`) at a path, if present. */
function removeAtPath(object: Obj, path: Path): void {
  const fieldPath: Path = [];
  let node: unknown = object;
  const last = path[path.length - 1]!;
  const upto = last === '.' ? path.length - 2 : path.length - 1;
  for (let i = 0; i < upto; i++) {
    const elem = path[i]!;
    if (elem.startsWith('f:')) {
      node = isObject(node) ? node[elem.slice(2)] : undefined;
      fieldPath.push(elem.slice(2));
    } else if (elem.startsWith('k:')) {
      node = Array.isArray(node) ? node.find((item) => matchesKey(item, elem.slice(2), fieldPath)) : undefined;
    }
    if (node === undefined) return;
  }
  const target = last === '.' ? path[path.length - 2]! : last;
  if (target.startsWith('f:') && isObject(node)) delete node[target.slice(2)];
  else if ((target.startsWith('k:') || target.startsWith('v:')) && Array.isArray(node)) {
    const index = target.startsWith('k:')
      ? node.findIndex((item) => matchesKey(item, target.slice(2), fieldPath))
      : node.findIndex((item) => deepEqual(item, JSON.parse(target.slice(2))));
    if (index >= 0) node.splice(index, 1);
  }
}

/** Merges an applied config into the live object: maps recursively, keyed lists by key, the rest replaced. */
function merge(live: unknown, config: unknown, fieldPath: Path, custom: boolean): unknown {
  if (isObject(config)) {
    const out: Obj = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(config)) {
      if (v === null || v === undefined) delete out[k];
      else out[k] = merge(out[k], v, [...fieldPath, k], custom);
    }
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live)) {
    const keys = listKeys(fieldPath, custom);
    if (keys.ssa && config.every(isObject) && live.every(isObject)) {
      const out: unknown[] = live.map((item) => clone(item));
      for (const item of config as Obj[]) {
        const key = itemKey(item, keys.ssa, fieldPath);
        const index = out.findIndex((existing) => matchesKey(existing, key.slice(2), fieldPath));
        if (index >= 0) out[index] = merge(out[index], item, fieldPath, custom);
        else out.push(clone(item));
      }
      return out;
    }
    if (keys.set) {
      const out = [...live];
      for (const v of config) if (!out.some((e) => deepEqual(e, v))) out.push(clone(v));
      return out;
    }
  }
  return clone(config);
}

/** `.spec.template.spec.containers[name="app"].image`: how structured-merge-diff prints a path. */
export function printPath(path: Path): string {
  let out = '';
  for (const elem of path) {
    if (elem === '.') continue;
    if (elem.startsWith('f:')) out += `.${elem.slice(2)}`;
    else if (elem.startsWith('k:')) {
      const key = JSON.parse(elem.slice(2)) as Obj;
      out += `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    } else if (elem.startsWith('v:')) out += `[=${elem.slice(2)}]`;
  }
  return out;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function managerLabel(entry: ManagedFieldsEntry): string {
  let label = JSON.stringify(entry.manager);
  if (entry.subresource) label += ` with subresource ${JSON.stringify(entry.subresource)}`;
  // The real server names the API version of an Update manager, not its time.
  if (entry.operation === 'Update') label += ` using ${entry.apiVersion}`;
  return label;
}

function setOf(entry: ManagedFieldsEntry): FieldSet {
  return fromTree(entry.fieldsV1);
}

function finish(entries: { entry: ManagedFieldsEntry; set: FieldSet }[]): ManagedFieldsEntry[] {
  return entries.filter((e) => e.set.size > 0).map((e) => ({ ...e.entry, fieldsV1: toTree(e.set) }));
}

export interface ApplyInput {
  live: KubeObject | undefined;
  config: KubeObject;
  manager: string;
  force: boolean;
  apiVersion: string;
  custom: boolean;
  /** The status is a subresource: the main endpoint neither applies nor owns it. */
  statusSubresource: boolean;
}

/** Server-side apply: returns the merged object with managedFields set, or throws a 409 conflict Status. */
export function serverSideApply(input: ApplyInput): KubeObject {
  const { live, manager, force, apiVersion, custom } = input;
  const config = clone(input.config);
  if (input.statusSubresource) delete config.status;
  const scope: Scope = { custom, part: input.statusSubresource ? 'main' : 'all' };
  const applied = fieldSet(config, scope);
  const entries = (live?.metadata.managedFields ?? []).map((entry) => ({ entry: clone(entry), set: setOf(entry) }));
  let mine = entries.find((e) => e.entry.manager === manager && e.entry.operation === 'Apply' && !e.entry.subresource);
  const others = entries.filter((e) => e !== mine);

  const conflicts: { owner: ManagedFieldsEntry; path: Path; encoded: string }[] = [];
  if (live) {
    for (const encoded of applied) {
      const path = JSON.parse(encoded) as Path;
      if (path[path.length - 1] === '.') continue;
      for (const other of others) {
        if (other.set.has(encoded) && !deepEqual(valueAt(live, path), valueAt(config, path))) conflicts.push({ owner: other.entry, path, encoded });
      }
    }
  }
  if (conflicts.length && !force) {
    const causes = conflicts.map((c) => ({ message: `conflict with ${managerLabel(c.owner)}`, field: printPath(c.path) }));
    let message: string;
    if (conflicts.length === 1) message = `Apply failed with 1 conflict: conflict with ${managerLabel(conflicts[0]!.owner)}: ${printPath(conflicts[0]!.path)}`;
    else {
      const byOwner = new Map<string, string[]>();
      for (const c of conflicts) byOwner.set(managerLabel(c.owner), [...(byOwner.get(managerLabel(c.owner)) ?? []), printPath(c.path)]);
      const lines: string[] = [];
      for (const owner of [...byOwner.keys()].sort()) lines.push(`conflicts with ${owner}:`, ...byOwner.get(owner)!.map((p) => `- ${p}`));
      message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
    }
    throw new StatusError(statuses.applyConflict(message, causes));
  }
  for (const c of conflicts) for (const other of others) if (other.entry === c.owner) other.set.delete(c.encoded);

  const base: Obj = live ? clone(live) : { apiVersion: config.apiVersion, kind: config.kind, metadata: {} };
  const merged = merge(base, stripManaged(config), [], custom) as KubeObject;
  if (mine) {
    const stillOwned = new Set(others.flatMap((o) => [...o.set]));
    const removals = [...mine.set].filter((p) => !applied.has(p) && !stillOwned.has(p)).map((p) => JSON.parse(p) as Path);
    removals.sort((a, b) => b.length - a.length);
    for (const path of removals) {
      // An item is only dropped when nobody owns anything inside it any more.
      if (path[path.length - 1] === '.') {
        const prefix = JSON.stringify(path.slice(0, -1)).slice(0, -1);
        if ([...applied, ...stillOwned].some((p) => p.startsWith(prefix))) continue;
      }
      removeAtPath(merged as Obj, path);
    }
  }
  if (!mine) {
    mine = { entry: { manager, operation: 'Apply', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: {} }, set: applied };
    entries.push(mine);
  } else {
    mine.set = applied;
    mine.entry = { ...mine.entry, apiVersion, time: now() };
  }
  merged.metadata.managedFields = finish(entries);
  return merged;
}

function stripManaged(config: KubeObject): KubeObject {
  const out = clone(config);
  if (out.metadata) {
    delete out.metadata.managedFields;
    delete out.metadata.resourceVersion;
    delete out.metadata.uid;
    delete out.metadata.creationTimestamp;
  }
  return out;
}

export interface UpdateInput {
  old: KubeObject | undefined;
  next: KubeObject;
  manager: string;
  apiVersion: string;
  custom: boolean;
  subresource?: 'status';
  statusSubresource: boolean;
}

/** Records an Update operation: the writer owns the fields whose values it changed. Mutates `next`. */
export function recordUpdate(input: UpdateInput): void {
  const { old, next, manager, apiVersion, custom, subresource } = input;
  const part: Scope['part'] = subresource === 'status' ? 'status' : input.statusSubresource ? 'main' : 'all';
  const scope: Scope = { custom, part };
  const newSet = fieldSet(next, scope);
  const oldSet = old ? fieldSet(old, scope) : new Set<string>();
  const changed = [...newSet].filter((encoded) => {
    if (!oldSet.has(encoded)) return true;
    const path = JSON.parse(encoded) as Path;
    return path[path.length - 1] !== '.' && !deepEqual(valueAt(old, path), valueAt(next, path));
  });
  const removed = [...oldSet].filter((p) => !newSet.has(p));
  const entries = (old?.metadata.managedFields ?? []).map((entry) => ({ entry: clone(entry), set: setOf(entry) }));
  const isMine = (e: ManagedFieldsEntry) => e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (subresource ?? '');
  for (const e of entries) {
    for (const p of removed) e.set.delete(p);
    if (!isMine(e.entry)) for (const p of changed) e.set.delete(p);
  }
  if (changed.length) {
    let mine = entries.find((e) => isMine(e.entry));
    if (!mine) {
      mine = { entry: { manager, operation: 'Update', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: {}, ...(subresource ? { subresource } : {}) }, set: new Set() };
      entries.push(mine);
    }
    for (const p of changed) mine.set.add(p);
    mine.entry.time = now();
    mine.entry.apiVersion = apiVersion;
  }
  const result = finish(entries);
  if (result.length) next.metadata.managedFields = result;
  else delete next.metadata.managedFields;
}
