/**
 * The three non-apply patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
 * Kubernetes strategic merge patch (lists merged by their merge keys, `$patch` directives,
 * `$setElementOrder`/`$retainKeys`/`$deleteFromPrimitiveList` understood).
 */
import { listKeys } from './schema.js';
import { StatusError, statuses } from './status.js';
import type { Json } from './types.js';

type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

// ---- RFC 7386 ----

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: Obj = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// ---- RFC 6902 ----

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function walk(root: unknown, parts: string[]): { parent: unknown; key: string } {
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined) throw new Error(`doc is missing path: ${'/' + parts.join('/')}`);
  }
  return { parent: node, key: parts[parts.length - 1]! };
}

function getAt(root: unknown, parts: string[]): unknown {
  let node = root;
  for (const part of parts) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined) throw new Error(`doc is missing path: ${'/' + parts.join('/')}`);
  }
  return node;
}

function addAt(root: unknown, parts: string[], value: unknown): unknown {
  if (!parts.length) return clone(value);
  const { parent, key } = walk(root, parts);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`Unable to access invalid index: ${key}`);
    parent.splice(index, 0, clone(value));
  } else if (isObject(parent)) parent[key] = clone(value);
  else throw new Error(`doc is missing path: ${'/' + parts.join('/')}`);
  return root;
}

function removeAt(root: unknown, parts: string[]): unknown {
  const { parent, key } = walk(root, parts);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!(index >= 0 && index < parent.length)) throw new Error(`Unable to remove nonexistent key: ${key}: missing value`);
    parent.splice(index, 1);
  } else if (isObject(parent) && key in parent) delete parent[key];
  else throw new Error(`Unable to remove nonexistent key: ${key}: missing value`);
  return root;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new StatusError(statuses.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch'));
  let doc = clone(target);
  try {
    for (const op of ops as Operation[]) {
      const parts = pointer(op.path);
      switch (op.op) {
        case 'add':
          doc = addAt(doc, parts, op.value);
          break;
        case 'remove':
          doc = removeAt(doc, parts);
          break;
        case 'replace':
          getAt(doc, parts);
          doc = addAt(removeAt(doc, parts), parts, op.value);
          break;
        case 'move': {
          const value = getAt(doc, pointer(op.from ?? ''));
          doc = addAt(removeAt(doc, pointer(op.from ?? '')), parts, value);
          break;
        }
        case 'copy':
          doc = addAt(doc, parts, getAt(doc, pointer(op.from ?? '')));
          break;
        case 'test':
          if (!deepEqual(getAt(doc, parts), op.value)) throw new Error(`testing value ${op.path} failed: test failed`);
          break;
        default:
          throw new Error(`Unexpected kind: ${op.op}`);
      }
    }
  } catch (error) {
    if (error instanceof StatusError) throw error;
    // The API server answers a patch that cannot be applied with 422 and the jsonpatch error text.
    throw new StatusError({ ...statuses.badRequest(`the server rejected our request due to an error in our request`), code: 422, reason: 'Invalid', message: (error as Error).message });
  }
  return doc;
}

// ---- strategic merge patch ----

/**
 * Applies a strategic merge patch. `path` is the field path of `target` from the object root
 * (for merge-key lookup); `custom` objects have no patch strategy (the server refuses SMP for them).
 */
export function strategicMerge(target: unknown, patch: unknown, path: string[] = []): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _drop, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  let result: Obj = isObject(target) ? { ...target } : {};
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((value as unknown[]).map((v) => JSON.stringify(v)));
      if (Array.isArray(result[field])) result[field] = (result[field] as unknown[]).filter((v) => !drop.has(JSON.stringify(v)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const childPath = [...path, key];
    if (Array.isArray(value)) {
      const merged = mergeList(result[key], value, childPath);
      result[key] = merged;
    } else {
      const merged = strategicMerge(result[key], value, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  return result;
}

function mergeList(target: unknown, patch: unknown[], path: string[]): unknown[] {
  const keys = listKeys(path, false);
  const current = Array.isArray(target) ? target : [];
  if (keys.set) {
    // A list of scalars with strategy "merge": union, keeping order.
    const out = [...current];
    for (const v of patch) if (!out.some((c) => deepEqual(c, v))) out.push(clone(v));
    return out;
  }
  const mergeKey = keys.smp?.[0];
  if (!mergeKey || !patch.every(isObject)) {
    if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObject(p) && p.$patch)).map(stripDirectives);
    return patch.map(stripDirectives);
  }
  if (patch.some((p) => (p as Obj).$patch === 'replace')) {
    return patch.filter((p) => (p as Obj).$patch !== 'replace').map(stripDirectives);
  }
  const out = current.map((item) => clone(item));
  for (const item of patch as Obj[]) {
    const index = out.findIndex((c) => isObject(c) && c[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMerge(out[index], item, path);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    if (v === null) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}
