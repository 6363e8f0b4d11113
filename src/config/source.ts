/**
 * Reads devloop.yaml into plain JS values while remembering where every key and value was written,
 * so validation errors can say `file:line:col`. Interpolation happens here, on string scalars.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node } from 'yaml';
import { ConfigError, type ErrorCode } from '../errors.js';
import { interpolate, retypePlainScalar } from './interpolate.js';

export interface Pos {
  line: number;
  col: number;
}

/** Positions for one mapping or list: its own start, and each entry's key and value. */
export interface ContainerMeta {
  pos: Pos;
  keys: Map<string | number, Pos>;
  values: Map<string | number, Pos>;
  /** Entries written as YAML octal integers (0o755), for file modes. */
  octal: Set<string | number>;
}

export type MetaMap = WeakMap<object, ContainerMeta>;

export interface SourceDoc {
  value: unknown;
  meta: MetaMap;
  /** The path to show in messages (as the user gave it, or relative to cwd). */
  displayName: string;
}

export type PathSegment = string | number;

function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** `file:line:col: path: message` — the one error shape for config problems. */
export function configError(
  displayName: string,
  pos: Pos,
  path: readonly PathSegment[],
  message: string,
  hint?: string,
  code: ErrorCode = 'CONFIG_INVALID',
): ConfigError {
  const where = path.length ? `${formatPath(path)}: ` : '';
  return new ConfigError(code, `${displayName}:${pos.line}:${pos.col}: ${where}${message}`, { hint });
}

const MAX_DEPTH = 64;
/** Aliases expanded per document, nested ones included: the limit manifests get from yaml's maxAliasCount. */
export const MAX_ALIAS_COUNT = 100;

/**
 * devloop.yaml as YAML gave it, before interpolation: plain data with positions (aliases expanded),
 * so `.devloop/config-tree.json` can keep it (tree-cache.ts) and a run skips the YAML parser.
 */
export type ConfigTree = TreeMap | TreeSeq | TreeScalar | null;
interface TreeMap {
  pos: Pos;
  map: { key: string; keyPos: Pos; valuePos: Pos; octal?: true; value: ConfigTree }[];
}
interface TreeSeq {
  pos: Pos;
  seq: { pos: Pos; octal?: true; value: ConfigTree }[];
}
interface TreeScalar {
  pos: Pos;
  scalar: unknown;
  /** A plain (unquoted) scalar: interpolated text is typed again (`port: ${PORT}` is a number). */
  plain?: true;
}

/** Parses YAML into a ConfigTree; syntax errors, alias bombs and non-string keys fail with their position. */
export function parseTree(text: string, displayName: string): ConfigTree {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const posAt = (offset: number): Pos => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const problem = doc.errors[0];
  if (problem) {
    throw new ConfigError('CONFIG_YAML', `${displayName}:${formatPos(posAt(problem.pos[0]))}: ${cleanYamlMessage(problem.message)}`, {
      hint: 'fix the YAML syntax (indentation, quotes, colons) at that position',
    });
  }
  // Each alias is expanded in place, so nested aliases multiply: a few hundred bytes can expand to
  // billions of values (an "alias bomb"). Count every expansion and stop early.
  let aliasCount = 0;
  const nodePos = (node: unknown): Pos => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? posAt(range[0]) : { line: 1, col: 1 };
  };
  const octal = (node: unknown): { octal?: true } => (isScalar(node) && typeof node.value === 'number' && node.format === 'OCT' ? { octal: true } : {});

  const convert = (node: unknown, path: PathSegment[], depth: number): ConfigTree => {
    if (depth > MAX_DEPTH) {
      throw configError(displayName, nodePos(node), path, 'nested too deeply (alias loop?)');
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      if (++aliasCount > MAX_ALIAS_COUNT) {
        throw configError(
          displayName,
          nodePos(node),
          path,
          `excessive alias count: more than ${MAX_ALIAS_COUNT} aliases to expand (nested aliases multiply)`,
          'use fewer YAML aliases (*name); a handful of nested ones can expand to gigabytes',
          'CONFIG_YAML',
        );
      }
      return convert(node.resolve(doc as Document), path, depth + 1);
    }
    if (isScalar(node)) return { pos: nodePos(node), scalar: node.value, ...(node.type === Scalar.PLAIN ? { plain: true as const } : {}) };
    if (isMap(node)) {
      const map: TreeMap['map'] = [];
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (!isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === 'object')) {
          throw configError(displayName, nodePos(keyNode ?? node), path, 'keys must be plain strings');
        }
        const key = String(keyNode.value);
        const keyPos = nodePos(keyNode);
        const valuePos = pair.value && (pair.value as Node).range ? nodePos(pair.value) : keyPos;
        map.push({ key, keyPos, valuePos, ...octal(pair.value), value: convert(pair.value, [...path, key], depth + 1) });
      }
      return { pos: nodePos(node), map };
    }
    if (isSeq(node)) {
      return { pos: nodePos(node), seq: node.items.map((item, index) => ({ pos: nodePos(item ?? node), ...octal(item), value: convert(item, [...path, index], depth + 1) })) };
    }
    return null;
  };
  return convert(doc.contents, [], 0);
}

/** The config's values from its tree, interpolated from `env`, with every key's and value's position. */
export function sourceFromTree(tree: ConfigTree, displayName: string, env: NodeJS.ProcessEnv): SourceDoc {
  const meta: MetaMap = new WeakMap();
  const convert = (node: ConfigTree, path: PathSegment[]): unknown => {
    if (node === null) return null;
    if ('scalar' in node) {
      if (typeof node.scalar !== 'string') return node.scalar;
      const result = interpolate(node.scalar, env);
      if (!result.ok) throw configError(displayName, node.pos, path, result.message, result.hint, 'CONFIG_INTERPOLATION');
      if (result.changed && node.plain) return retypePlainScalar(result.value);
      return result.value;
    }
    const entry: ContainerMeta = { pos: node.pos, keys: new Map(), values: new Map(), octal: new Set() };
    if ('seq' in node) {
      const out: unknown[] = [];
      meta.set(out, entry);
      node.seq.forEach((item, index) => {
        entry.values.set(index, item.pos);
        if (item.octal) entry.octal.add(index);
        out.push(convert(item.value, [...path, index]));
      });
      return out;
    }
    const out: Record<string, unknown> = {};
    meta.set(out, entry);
    for (const { key, keyPos, valuePos, octal, value } of node.map) {
      entry.keys.set(key, keyPos);
      entry.values.set(key, valuePos);
      if (octal) entry.octal.add(key);
      // defineProperty: a key named "__proto__" must stay data, not change the prototype.
      Object.defineProperty(out, key, { value: convert(value, [...path, key]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return { value: convert(tree, []), meta, displayName };
}

export function parseSource(text: string, displayName: string, env: NodeJS.ProcessEnv): SourceDoc {
  return sourceFromTree(parseTree(text, displayName), displayName, env);
}

function formatPos(pos: Pos): string {
  return `${pos.line}:${pos.col}`;
}

/** yaml's messages sometimes end with " at line X, column Y" and a code frame; the prefix already says where. */
function cleanYamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}
