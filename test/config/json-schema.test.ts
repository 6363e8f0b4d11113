import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { JSON_SCHEMA_FILE, devloopJsonSchema, renderJsonSchema, type JsonSchema } from '../../src/config/json-schema.js';
import { loadConfigText } from '../../src/config/load.js';

const repo = join(import.meta.dirname, '..', '..');
const CONFIGS = [
  'devloop.yaml',
  'examples/custom-builder/devloop.yaml',
  'examples/hello-oci/devloop.yaml',
  'examples/helm/devloop.yaml',
  'examples/kustomize/devloop.yaml',
  'templates/go/devloop.yaml',
  'templates/node/devloop.yaml',
];
const SCHEMA_REF = /^# yaml-language-server: \$schema=(\S+)$/m;

/**
 * Just the draft-07 subset the generator emits (type, enum, minLength, pattern, minimum, maximum,
 * properties, required, additionalProperties, items, anyOf, oneOf, local $ref); returns the problems.
 */
function check(schema: JsonSchema, value: unknown, root: JsonSchema = schema, at = ''): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce<JsonSchema>((node, key) => node[key] as JsonSchema, root);
    return check(target, value, root, at);
  }
  const problems: string[] = [];
  const fail = (message: string): string[] => [`${at || '/'}: ${message}`];
  if (schema.type !== undefined) {
    const types = [schema.type].flat() as string[];
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const fits = types.some((t) => t === actual || (t === 'integer' && Number.isInteger(value)));
    if (!fits) return fail(`expected ${types.join('|')}, got ${actual}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return fail(`not one of ${schema.enum.join(', ')}`);
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) return fail('too short');
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) return fail(`does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) return fail('too small');
    if (typeof schema.maximum === 'number' && value > schema.maximum) return fail('too large');
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => problems.push(...check(schema.items as JsonSchema, item, root, `${at}/${i}`)));
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in value)) problems.push(...fail(`missing ${key}`));
    for (const [key, item] of Object.entries(value)) {
      if (properties[key]) problems.push(...check(properties[key], item, root, `${at}/${key}`));
      else if (schema.additionalProperties === false) problems.push(`${at}/${key}: unknown key`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...check(schema.additionalProperties as JsonSchema, item, root, `${at}/${key}`));
    }
  }
  if (Array.isArray(schema.anyOf)) {
    const results = (schema.anyOf as JsonSchema[]).map((option) => check(option, value, root, at));
    if (!results.some((r) => r.length === 0)) problems.push(...fail(`no alternative fits (${results.map((r) => r[0]).join('; ')})`));
  }
  if (Array.isArray(schema.oneOf)) {
    const fitting = (schema.oneOf as JsonSchema[]).filter((option) => check(option, value, root, at).length === 0).length;
    if (fitting !== 1) problems.push(...fail(`${fitting} alternatives of oneOf fit`));
  }
  return problems;
}

const schema = devloopJsonSchema();
const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\n';

function validatorProblem(text: string, env: NodeJS.ProcessEnv = {}): Promise<string | undefined> {
  return loadConfigText(text, { file: '/project/devloop.yaml', displayName: 'devloop.yaml', profiles: [], command: 'dev', overrides: {}, env }).then(
    () => undefined,
    (error: Error) => error.message,
  );
}

describe('JSON Schema of devloop.yaml', () => {
  test(`${JSON_SCHEMA_FILE} is up to date (regenerate with npm run build)`, async () => {
    expect(await readFile(join(repo, JSON_SCHEMA_FILE), 'utf8')).toBe(renderJsonSchema());
  });

  test.each(CONFIGS)('%s fits the schema and points editors at it', async (file) => {
    const text = await readFile(join(repo, file), 'utf8');
    expect(check(schema, parse(text))).toEqual([]);
    const ref = SCHEMA_REF.exec(text)?.[1];
    expect(ref).toBeDefined();
    if (file.startsWith('templates/')) {
      // Written into the user's project, next to node_modules/ once devloop is a dev dependency.
      expect(ref).toBe('node_modules/devloop/schema/devloop.schema.json');
    } else {
      expect(join(repo, file, '..', ref!)).toBe(join(repo, JSON_SCHEMA_FILE));
    }
  });

  test.each([
    ['an unknown top-level key', `${head}bulid: {}\n`],
    ['an unknown artifact key', `${head}build:\n  artifacts:\n    - {image: a, dockerFile: Dockerfile}\n`],
    ['an unknown docker key', `${head}build:\n  artifacts:\n    - {image: a, docker: {dockerFile: D}}\n`],
    ['an unknown port-forward key', `${head}portForward:\n  - {resource: service/a, port: 80, local: 8080}\n`],
    ['an unknown hook key', `${head}deploy:\n  hooks:\n    after: [{command: x, nonfatal: true}]\n`],
    ['a missing required key', 'apiVersion: devloop/v1\nkind: Config\n'],
    ['a value outside an enum', `${head}build: {push: sometimes}\n`],
    ['a duration without a unit', `${head}deploy:\n  statusCheck: {timeout: 120}\n`],
    ['a port out of range', `${head}portForward:\n  - {resource: service/a, port: 70000}\n`],
    ['an empty command', `${head}build:\n  artifacts:\n    - {image: a, compile: {command: ""}}\n`],
  ])('%s is rejected by the validator and the schema', async (_, text) => {
    expect(await validatorProblem(text)).toBeDefined();
    expect(check(schema, parse(text))).not.toEqual([]);
  });

  test.each([
    ['an empty builder meaning its defaults', `${head}build:\n  artifacts:\n    - image: a\n      docker:\n`],
    ['an interpolated port', `${head}portForward:\n  - resource: service/a\n    port: 80\n    localPort: \${PORT:-8080}\n`],
    ['an interpolated boolean', `${head}build:\n  push: \${PUSH:-false}\n`],
    ['a command as a list', `${head}build:\n  artifacts:\n    - {image: a, custom: {command: [make, image]}}\n`],
    ['an octal file mode', `${head}build:\n  artifacts:\n    - {image: a, oci: {layers: [{from: bin, to: /bin, mode: 0o755}]}}\n`],
    ['a numeric user and string-map numbers', `${head}build:\n  artifacts:\n    - {image: a, oci: {user: 1000, env: {N: 1}}}\n`],
    ['a tag template', `${head}build: {tagPolicy: {template: "{{.GIT}}"}}\n`],
    ['a named port', `${head}portForward:\n  - {resource: service/a, port: http}\n`],
    ['a profile patch with any value', `${head}profiles:\n  - {name: p, patches: [{op: add, path: /build/push, value: false}]}\n`],
  ])('%s is accepted by the validator and the schema', async (_, text) => {
    expect(await validatorProblem(text)).toBeUndefined();
    expect(check(schema, parse(text))).toEqual([]);
  });
});
