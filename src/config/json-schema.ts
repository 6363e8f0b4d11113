/**
 * The JSON Schema of devloop.yaml, derived from the validator's own schema (schema.ts), for editors
 * (yaml-language-server). Never stricter than the validator: custom checks and `finish` hooks cannot be
 * expressed, so those places stay permissive; the validator remains the authority.
 * Draft-07: the draft every editor integration (yaml-language-server, IntelliJ, SchemaStore) supports fully.
 */
import { DURATION_PATTERN } from './duration.js';
import { configSchema } from './schema.js';
import { FILE_MODE_PATTERN, type Field, type Schema } from './validate.js';

export type JsonSchema = Record<string, unknown>;

export const JSON_SCHEMA_FILE = 'schema/devloop.schema.json';

/** `${VAR}` is substituted before validation, and an unquoted `${PORT}` retypes to a number or boolean. */
const interpolated: JsonSchema = { type: 'string', pattern: '\\$\\{', description: '${VAR} or ${VAR:-default}, substituted from the environment' };

export function devloopJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'devloop.yaml',
    description: 'devloop config (apiVersion devloop/v1), generated from the validator\'s schema',
    definitions: { interpolated },
    ...toJson(configSchema),
  };
}

/** The file's exact text, for the build and the staleness test. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(devloopJsonSchema(), null, 2)}\n`;
}

function toJson(schema: Schema): JsonSchema {
  switch (schema.type) {
    case 'any':
      return {};
    case 'string': {
      const out: JsonSchema = { type: schema.coerce ? ['string', 'number', 'boolean'] : 'string' };
      if (schema.enum) out.enum = [...schema.enum];
      if (schema.nonEmpty) out.minLength = 1;
      return schema.enum ? orInterpolated(out) : out;
    }
    case 'integer':
      return orInterpolated({ type: 'integer', ...(schema.min !== undefined && { minimum: schema.min }), ...(schema.max !== undefined && { maximum: schema.max }) });
    case 'boolean':
      return orInterpolated({ type: 'boolean' });
    case 'duration':
      return orInterpolated({ type: 'string', pattern: `^\\s*(?:${DURATION_PATTERN.source.slice(1, -1)})\\s*$`, description: 'a duration like 120s, 2m, 500ms or 1m30s' });
    case 'fileMode':
      // A YAML octal 0o755 reaches the schema as the number 493: the validator's "ambiguous 755" check is lexical.
      return orInterpolated({ anyOf: [{ type: 'string', pattern: FILE_MODE_PATTERN.source }, { type: 'integer', minimum: 0, maximum: 0o7777 }] });
    case 'stringMap':
      return { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } };
    case 'list':
      return { type: 'array', items: toJson(schema.items) };
    case 'object': {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const [key, field] of Object.entries(schema.fields)) {
        properties[key] = fieldJson(field);
        if (field.required) required.push(key);
      }
      return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
    }
    case 'union': {
      const options = schema.options.map(toJson);
      // oneOf names the shapes for the editor; where shapes overlap, anyOf keeps the validator's "first that fits".
      return { [disjoint(options) ? 'oneOf' : 'anyOf']: options, description: schema.expected };
    }
  }
}

function fieldJson(field: Field): JsonSchema {
  const json = toJson(field.schema);
  if (field.doc) json.description = field.doc;
  if (field.default !== undefined) json.default = field.default;
  // An empty value (`docker:`) means "the default" wherever the validator reads null as absent.
  const type = field.schema.type;
  const nullOk = !field.required || type === 'object' || ((type === 'list' || type === 'stringMap') && field.default !== undefined);
  return nullOk ? nullable(json) : json;
}

function orInterpolated(json: JsonSchema): JsonSchema {
  return { anyOf: [json, { $ref: '#/definitions/interpolated' }] };
}

function nullable(json: JsonSchema): JsonSchema {
  if (Object.keys(json).every((k) => k === 'description' || k === 'default')) return json;
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(json[key])) return { ...json, [key]: [...(json[key] as JsonSchema[]), { type: 'null' }] };
  }
  const out: JsonSchema = { ...json, type: [json.type, 'null'].flat() };
  if (Array.isArray(json.enum)) out.enum = [...json.enum, null];
  return out;
}

/** The JSON types a schema can accept ('*' for anything). */
function jsonTypes(json: JsonSchema): string[] {
  const alternatives = (json.anyOf ?? json.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return alternatives.flatMap(jsonTypes);
  if (json.$ref) return [interpolated.type as string];
  if (json.type === undefined) return ['*'];
  return [json.type].flat() as string[];
}

function disjoint(options: JsonSchema[]): boolean {
  const seen = new Set<string>();
  for (const types of options.map(jsonTypes)) {
    const widened = types.flatMap((t) => (t === 'integer' ? ['number'] : t === '*' ? ['*'] : [t]));
    if (widened.includes('*') || widened.some((t) => seen.has(t))) return false;
    widened.forEach((t) => seen.add(t));
  }
  return true;
}
