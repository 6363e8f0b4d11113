/**
 * RFC 6902 JSON Patch (all six operations) over the plain tree from `source.ts`, keeping the
 * position map in step so errors in patched values still point at a line in the file.
 */
import type { ContainerMeta, MetaMap, Pos } from './source.js';
import type { JsonPatchOperation } from './types.js';

export class PatchError extends Error {}

type Container = Record<string, unknown> | unknown[];

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Applies one operation to `root` and returns the new root (only a whole-document replace changes it).
 * `at.value` is where the operation's value was written (for positions of inserted values) and
 * `at.op` where the operation is (for keys it creates).
 */
export function applyPatch(root: unknown, op: JsonPatchOperation, meta: MetaMap, at: { op: Pos; value: Pos }): unknown {
  const valuePos = at.value;
  const tokens = parsePointer(op.path);
  switch (op.op) {
    case 'add':
      return add(root, tokens, op.path, cloneWithMeta(op.value, meta), meta, valuePos, at.op);
    case 'remove':
      remove(root, tokens, op.path, meta);
      return root;
    case 'replace': {
      if (tokens.length === 0) return cloneWithMeta(op.value, meta);
      get(root, tokens, op.path);
      remove(root, tokens, op.path, meta);
      return add(root, tokens, op.path, cloneWithMeta(op.value, meta), meta, valuePos, at.op);
    }
    case 'move': {
      const fromTokens = parsePointer(op.from ?? '');
      if (op.path.startsWith(`${op.from}/`)) throw new PatchError(`cannot move ${op.from} into its own child ${op.path}`);
      const value = get(root, fromTokens, op.from ?? '');
      const pos = entryPos(root, fromTokens, meta) ?? valuePos;
      remove(root, fromTokens, op.from ?? '', meta);
      return add(root, tokens, op.path, value, meta, pos, at.op);
    }
    case 'copy': {
      const fromTokens = parsePointer(op.from ?? '');
      const value = cloneWithMeta(get(root, fromTokens, op.from ?? ''), meta);
      return add(root, tokens, op.path, value, meta, entryPos(root, fromTokens, meta) ?? valuePos, at.op);
    }
    case 'test': {
      const actual = get(root, tokens, op.path);
      if (!deepEqual(actual, op.value)) throw new PatchError(`test failed: ${op.path} is ${JSON.stringify(actual)}, not ${JSON.stringify(op.value)}`);
      return root;
    }
  }
}

function get(root: unknown, tokens: string[], pointer: string): unknown {
  let current = root;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      const index = arrayIndex(token, current.length, false, pointer);
      current = current[index];
    } else if (isObject(current) && Object.prototype.hasOwnProperty.call(current, token)) {
      current = current[token];
    } else {
      throw new PatchError(`path ${pointer} does not exist`);
    }
  }
  return current;
}

function parentOf(root: unknown, tokens: string[], pointer: string): Container {
  const parent = get(root, tokens.slice(0, -1), pointer);
  if (!Array.isArray(parent) && !isObject(parent)) throw new PatchError(`path ${pointer} does not exist (its parent is not a mapping or list)`);
  return parent;
}

function add(root: unknown, tokens: string[], pointer: string, value: unknown, meta: MetaMap, pos: Pos, keyPos: Pos): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(root, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  const entry = metaFor(parent, meta, pos);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : arrayIndex(last, parent.length + 1, true, pointer);
    parent.splice(index, 0, value);
    shift(entry, index, 1);
    entry.values.set(index, pos);
  } else {
    Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
    entry.values.set(last, pos);
    entry.octal.delete(last);
    if (!entry.keys.has(last)) entry.keys.set(last, keyPos);
  }
  return root;
}

function remove(root: unknown, tokens: string[], pointer: string, meta: MetaMap): void {
  if (tokens.length === 0) throw new PatchError('cannot remove the whole config');
  const parent = parentOf(root, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  const entry = meta.get(parent);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false, pointer);
    parent.splice(index, 1);
    if (entry) shift(entry, index, -1);
  } else {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError(`path ${pointer} does not exist`);
    delete parent[last];
    entry?.values.delete(last);
    entry?.keys.delete(last);
  }
}

function arrayIndex(token: string, limit: number, forAdd: boolean, pointer: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`path ${pointer}: "${token}" is not a list index`);
  const index = Number(token);
  if (index >= limit) throw new PatchError(`path ${pointer} does not exist (index ${index} is past the end${forAdd ? '; use - to append' : ''})`);
  return index;
}

/** Re-keys positions of list entries after an insert (+1) or removal (-1) at `from`. */
function shift(entry: ContainerMeta, from: number, delta: 1 | -1): void {
  const moved = (index: string | number): number | undefined => {
    if (typeof index !== 'number' || index < from) return index as number;
    if (delta < 0 && index === from) return undefined;
    return index + delta;
  };
  const values = new Map<string | number, Pos>();
  for (const [index, pos] of entry.values) {
    const target = moved(index);
    if (target !== undefined) values.set(target, pos);
  }
  const octal = new Set<string | number>();
  for (const index of entry.octal) {
    const target = moved(index);
    if (target !== undefined) octal.add(target);
  }
  entry.values = values;
  entry.octal = octal;
}

function entryPos(root: unknown, tokens: string[], meta: MetaMap): Pos | undefined {
  if (tokens.length === 0) return undefined;
  try {
    const parent = get(root, tokens.slice(0, -1), '');
    const last = tokens[tokens.length - 1]!;
    return meta.get(parent as object)?.values.get(Array.isArray(parent) ? Number(last) : last);
  } catch {
    return undefined;
  }
}

function metaFor(container: Container, meta: MetaMap, pos: Pos): ContainerMeta {
  let entry = meta.get(container);
  if (!entry) {
    entry = { pos, keys: new Map(), values: new Map(), octal: new Set() };
    meta.set(container, entry);
  }
  return entry;
}

/** Deep copy that carries positions along, so a value copied from the file keeps its lines. */
function cloneWithMeta(value: unknown, meta: MetaMap): unknown {
  if (value === null || typeof value !== 'object') return value;
  const source = meta.get(value);
  const copy: Container = Array.isArray(value) ? value.map((item) => cloneWithMeta(item, meta)) : {};
  if (!Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(copy, key, { value: cloneWithMeta(item, meta), enumerable: true, writable: true, configurable: true });
    }
  }
  if (source) meta.set(copy, { pos: source.pos, keys: new Map(source.keys), values: new Map(source.values), octal: new Set(source.octal) });
  return copy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}
