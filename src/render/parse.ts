/**
 * Parsing manifest files: multi-document YAML into objects that remember their file and line.
 * Pure: callers read the files.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { DevloopError } from '../errors.js';
import { MAX_ALIAS_COUNT } from '../config/source.js';
import type { KubeObject, ManifestObject } from './types.js';

/** Parses one file's text. `file` is only used in messages and sources. */
export function parseManifests(text: string, file: string): ManifestObject[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const objects: ManifestObject[] = [];
  for (const document of documents) {
    const problem = document.errors[0];
    if (problem) {
      const line = lineCounter.linePos(problem.pos[0]).line;
      throw new DevloopError('MANIFEST_INVALID_YAML', `${file}:${line}: invalid YAML: ${firstSentence(problem.message)}`, {
        hint: 'fix the YAML syntax in this manifest (indentation, quoting, duplicate keys)',
      });
    }
    const start = document.contents?.range?.[0] ?? document.range[0];
    const line = lineCounter.linePos(start).line;
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // yaml throws a ReferenceError for an alias bomb ("Excessive alias count ...").
      throw new DevloopError('MANIFEST_INVALID_YAML', `${file}:${line}: invalid YAML: ${firstSentence((error as Error).message)}`, {
        hint: `use fewer YAML aliases (at most ${MAX_ALIAS_COUNT} expansions per document)`,
      });
    }
    if (value === null || value === undefined) continue; // an empty document (`---` at the end)
    for (const object of expandLists(value, file, line)) objects.push({ object, source: { file, line } });
  }
  return objects;
}

function expandLists(value: unknown, file: string, line: number): KubeObject[] {
  const object = checkObject(value, file, line);
  if (object.kind === 'List' || (object.kind.endsWith('List') && Array.isArray(object.items))) {
    const items = Array.isArray(object.items) ? object.items : [];
    return items.map((item) => checkObject(item, file, line));
  }
  return [object];
}

function checkObject(value: unknown, file: string, line: number): KubeObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DevloopError('MANIFEST_NOT_OBJECT', `${file}:${line}: a manifest document must be a Kubernetes object (a mapping)`, {
      hint: 'each YAML document needs apiVersion, kind and metadata.name',
    });
  }
  const record = value as Record<string, unknown>;
  const kind = typeof record.kind === 'string' ? record.kind : '';
  const isList = kind === 'List' || (kind.endsWith('List') && Array.isArray(record.items));
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new DevloopError('MANIFEST_MISSING_FIELD', `${file}:${line}: object has no ${field}`, {
        hint: 'each YAML document needs apiVersion, kind and metadata.name',
      });
    }
  }
  if (!isList) {
    const metadata = record.metadata as Record<string, unknown> | undefined;
    if (typeof metadata !== 'object' || metadata === null || typeof metadata.name !== 'string' || metadata.name === '') {
      const hint = typeof metadata?.generateName === 'string' ? 'generateName is not supported: devloop applies objects by name' : 'add metadata.name';
      throw new DevloopError('MANIFEST_MISSING_FIELD', `${file}:${line}: ${kind} has no metadata.name`, { hint });
    }
  }
  return record as KubeObject;
}

function firstSentence(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
}
