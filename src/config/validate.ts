/**
 * A small schema language and the one walker that validates a plain JS tree against it, applies
 * defaults and normalises values (durations → ms, modes → numbers), collecting positioned errors.
 */
import type { MetaMap, PathSegment, Pos } from './source.js';
import { closest } from './suggest.js';
import { parseDuration } from './duration.js';

export interface Problem {
  pos: Pos;
  path: PathSegment[];
  message: string;
  hint?: string;
  /** Unknown-key problems win over missing-key ones in the same mapping: the typo is the cause. */
  kind?: 'unknown' | 'missing';
}

export type Schema =
  | { type: 'string'; enum?: readonly string[]; nonEmpty?: boolean; coerce?: boolean; check?: (value: string) => Issue | undefined }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'duration' }
  | { type: 'fileMode' }
  | { type: 'stringMap' }
  | { type: 'list'; items: Schema }
  | {
      type: 'object';
      fields: Record<string, Field>;
      /** Cross-field checks and derived defaults; `raw` is the mapping as written. */
      finish?: (value: Record<string, unknown>, ctx: CheckContext, raw: Record<string, unknown>) => Record<string, unknown>;
    }
  | { type: 'union'; options: Schema[]; expected: string }
  | { type: 'any' };

export interface Field {
  schema: Schema;
  required?: boolean;
  /** Used when the key is absent (or null): cloned, then validated like a written value. */
  default?: unknown;
  /** One line for the config reference. */
  doc?: string;
}

/** A problem found by a custom check: a message and an optional hint. */
export interface Issue {
  message: string;
  hint?: string;
}

/** What `finish` hooks get: where they are, to report positioned problems below them. */
export interface CheckContext {
  path: PathSegment[];
  /** Reports at the value found by following `rel` below this object (its key with `atKey`). */
  report(rel: PathSegment[], issue: Issue, atKey?: boolean): void;
  /** Folder of the config file, for resolving relative paths. */
  dir: string;
}

export interface ValidateEnv {
  meta: MetaMap;
  dir: string;
  problems: Problem[];
}

interface Place {
  path: PathSegment[];
  /** Where the value is written (falls back to the nearest written ancestor). */
  pos: Pos;
  /** The value was written as a YAML octal integer (0o755). */
  octal?: boolean;
}

export function validate(schema: Schema, value: unknown, env: ValidateEnv, place: Place = { path: [], pos: { line: 1, col: 1 } }): unknown {
  const fail = (message: string, hint?: string): undefined => {
    env.problems.push({ pos: place.pos, path: place.path, message, hint });
    return undefined;
  };

  switch (schema.type) {
    case 'any':
      return value;
    case 'string': {
      let text: string;
      if (typeof value === 'string') text = value;
      else if (schema.coerce && (typeof value === 'number' || typeof value === 'boolean')) text = String(value);
      else return fail('expected a string', typeof value === 'number' || typeof value === 'boolean' ? `${found(value)}; quote it if it is meant as text` : found(value));
      if (schema.enum && !schema.enum.includes(text)) {
        const near = closest(text, schema.enum);
        const expected = schema.enum.length === 1 ? schema.enum[0] : `one of ${schema.enum.join(', ')}`;
        return fail(`expected ${expected}`, [found(text), near ? `did you mean \`${near}\`?` : undefined].filter(Boolean).join('; '));
      }
      if (schema.nonEmpty && text === '') return fail('must not be empty');
      const issue = schema.check?.(text);
      if (issue) return fail(issue.message, issue.hint);
      return text;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail(`expected an integer`, found(value));
      if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
        return fail(rangeMessage(value, schema.min, schema.max));
      }
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return fail(`expected true or false`, found(value));
      return value;
    case 'duration': {
      const ms = typeof value === 'string' ? parseDuration(value) : undefined;
      if (ms === undefined) {
        const advice = typeof value === 'number' ? `add a unit: ${value}s` : 'units: ms, s, m, h; combine them as 1m30s';
        return fail('expected a duration like 120s, 2m or 500ms', `${found(value)}; ${advice}`);
      }
      return ms;
    }
    case 'fileMode':
      return fileMode(value, env, place, fail);
    case 'stringMap': {
      if (!isPlainObject(value)) return fail(`expected a mapping of names to strings`, found(value));
      const out: Record<string, string> = {};
      for (const [key, item] of Object.entries(value)) {
        const childPos = posOf(env.meta, value, key, place.pos);
        if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') out[key] = String(item);
        else env.problems.push({ pos: childPos, path: [...place.path, key], message: 'expected a string', hint: `${found(item)}; values here are plain text` });
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(value)) return fail(`expected a list`, found(value));
      return value.map((item, index) =>
        validate(schema.items, item, env, {
          path: [...place.path, index],
          pos: posOf(env.meta, value, index, place.pos),
          octal: env.meta.get(value)?.octal.has(index),
        }),
      );
    }
    case 'object':
      return validateObject(schema, value, env, place, fail);
    case 'union': {
      const candidates = schema.options.filter((option) => shapeMatches(option, value));
      for (const option of candidates) {
        const trial: ValidateEnv = { ...env, problems: [] };
        const result = validate(option, value, trial, place);
        if (trial.problems.length === 0) return result;
        // A mapping or list that failed deep inside: its own problems say more than "expected X or Y".
        if (option === candidates[candidates.length - 1] && (isPlainObject(value) || Array.isArray(value))) {
          env.problems.push(...trial.problems);
          return undefined;
        }
      }
      return fail(`expected ${schema.expected}`, found(value));
    }
  }
}

function validateObject(
  schema: Extract<Schema, { type: 'object' }>,
  value: unknown,
  env: ValidateEnv,
  place: Place,
  fail: (message: string, hint?: string) => undefined,
): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return fail(`expected a mapping`, found(value));
  const meta = env.meta.get(value);
  const objectPos = meta?.pos ?? place.pos;
  const known = Object.keys(schema.fields);
  for (const key of Object.keys(value)) {
    if (key in schema.fields) continue;
    const near = closest(key, known);
    env.problems.push({
      pos: meta?.keys.get(key) ?? objectPos,
      path: [...place.path, key],
      message: near ? `unknown key, did you mean \`${near}\`?` : 'unknown key',
      hint: `known keys here: ${known.join(', ')}`,
      kind: 'unknown',
    });
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.fields)) {
    const written = Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined;
    const childPlace = { path: [...place.path, key], pos: posOf(env.meta, value, key, objectPos), octal: meta?.octal.has(key) };
    let input = written;
    if (input === null && (field.schema.type === 'object' || field.schema.type === 'list' || field.schema.type === 'stringMap')) {
      // `docker:` with nothing after it means "docker with defaults", not "docker: null".
      input = field.default !== undefined ? structuredClone(field.default) : field.schema.type === 'object' ? {} : undefined;
    }
    if (input === undefined || (input === null && !field.required)) {
      if (field.required) {
        env.problems.push({ pos: objectPos, path: childPlace.path, message: 'missing required key', hint: `add \`${key}:\` (${field.doc ?? 'see the config reference'})`, kind: 'missing' });
        continue;
      }
      if (field.default === undefined) continue;
      input = structuredClone(field.default);
    }
    const result = validate(field.schema, input, env, childPlace);
    if (result !== undefined) out[key] = result;
  }
  if (!schema.finish) return out;
  const ctx: CheckContext = {
    path: place.path,
    dir: env.dir,
    report: (rel, issue, atKey) => {
      env.problems.push({ pos: posBelow(env.meta, value, rel, objectPos, atKey), path: [...place.path, ...rel], ...issue });
    },
  };
  return schema.finish(out, ctx, value);
}

/** A file mode written as text; also the pattern of the JSON Schema. */
export const FILE_MODE_PATTERN = /^0?[0-7]{1,4}$/;

function fileMode(value: unknown, env: ValidateEnv, place: Place, fail: (message: string, hint?: string) => undefined): number | undefined {
  const hint = 'write modes in octal: 0o755 or "0755"';
  if (typeof value === 'string') {
    if (!FILE_MODE_PATTERN.test(value)) return fail(`expected an octal file mode, got "${value}"`, hint);
    return parseInt(value, 8);
  }
  if (typeof value === 'number' && Number.isInteger(value)) {
    // A bare 755 is decimal in YAML 1.2 (0o1363): almost certainly not what was meant.
    if (!place.octal && value > 7) return fail(`ambiguous file mode ${value}`, hint);
    if (value < 0 || value > 0o7777) return fail(`file mode out of range`, hint);
    return value;
  }
  return fail('expected an octal file mode', `${found(value)}; ${hint}`);
}

function posOf(meta: MetaMap, container: object, key: PathSegment, fallback: Pos): Pos {
  return meta.get(container)?.values.get(key) ?? meta.get(container)?.pos ?? fallback;
}

function posBelow(meta: MetaMap, root: unknown, rel: PathSegment[], fallback: Pos, atKey?: boolean): Pos {
  let current: unknown = root;
  let pos = fallback;
  rel.forEach((segment, index) => {
    if (current === null || typeof current !== 'object') return;
    const entry = meta.get(current);
    const last = index === rel.length - 1;
    const found = last && atKey ? entry?.keys.get(segment) : entry?.values.get(segment);
    if (found) pos = found;
    current = (current as Record<string | number, unknown>)[segment];
  });
  return pos;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function shapeMatches(schema: Schema, value: unknown): boolean {
  switch (schema.type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
    case 'stringMap':
      return isPlainObject(value);
    case 'list':
      return Array.isArray(value);
    default:
      return true;
  }
}

/** What was written instead, for the hint. */
function found(value: unknown): string {
  if (value === null || value === undefined) return 'found nothing';
  if (Array.isArray(value)) return 'found a list';
  if (typeof value === 'object') return 'found a mapping';
  if (typeof value === 'string') return `found the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number') return `found the number ${value}`;
  return `found ${String(value)}`;
}

function rangeMessage(value: number, min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return `must be between ${min} and ${max}, got ${value}`;
  if (min !== undefined) return `must be at least ${min}, got ${value}`;
  return `must be at most ${max}, got ${value}`;
}
