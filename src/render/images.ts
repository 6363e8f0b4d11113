/**
 * Image reference rewriting: every container image naming an artifact (with or without a tag) is
 * replaced by the built immutable reference. Pure; mutates the object it is given.
 */
import type { ImagePathRule } from '../config/types.js';
import { splitImageReference } from '../registry/reference.js';
import type { ImageReplacement, KubeObject } from './types.js';

/** The replacement for `reference`, or undefined when it names no artifact or is pinned by digest. */
export function replacementFor(reference: string, replacements: readonly ImageReplacement[]): string | undefined {
  const parsed = splitImageReference(reference);
  if (parsed.digest) return undefined; // pinned on purpose: never touch it
  const match = replacements.find((r) => r.image === reference || splitImageReference(r.image).repository === parsed.repository);
  return match?.ref;
}

const POD_SPEC_CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** Pod specs inside an object, for the kinds Kubernetes ships and anything with `spec.template.spec`. */
export function podSpecsOf(object: KubeObject): Record<string, unknown>[] {
  const spec = asRecord(object.spec);
  if (!spec) return [];
  if (object.kind === 'Pod' && isCoreGroup(object.apiVersion)) return [spec];
  if (object.kind === 'CronJob') {
    const podSpec = asRecord(asRecord(asRecord(asRecord(spec.jobTemplate)?.spec)?.template)?.spec);
    return podSpec ? [podSpec] : [];
  }
  const podSpec = asRecord(asRecord(spec.template)?.spec);
  return podSpec ? [podSpec] : [];
}

/** Every container image of the object's pod specs, in order ("" for a container without one). */
export function containerImagesOf(object: KubeObject): string[] {
  return podSpecsOf(object).flatMap((podSpec) =>
    POD_SPEC_CONTAINER_LISTS.flatMap((list) => {
      const containers = podSpec[list];
      return Array.isArray(containers) ? containers.map((c) => (typeof asRecord(c)?.image === 'string' ? (asRecord(c)!.image as string) : '')) : [];
    }),
  );
}

/** Pod template metadata objects (created when missing) so pods carry devloop's labels. */
export function podTemplatesOf(object: KubeObject): Record<string, unknown>[] {
  const spec = asRecord(object.spec);
  if (!spec) return [];
  const templates: Record<string, unknown>[] = [];
  if (object.kind === 'CronJob') {
    const jobTemplate = asRecord(spec.jobTemplate);
    if (jobTemplate) templates.push(jobTemplate);
    const template = asRecord(asRecord(jobTemplate?.spec)?.template);
    if (template) templates.push(template);
    return templates;
  }
  const template = asRecord(spec.template);
  if (template && asRecord(template.spec)) templates.push(template);
  return templates;
}

/**
 * Replaces artifact images in `object`; returns how many references were replaced.
 * `imagePaths` adds string fields of custom resources (".spec.image", ".spec.workers[].image").
 */
export function rewriteImages(
  object: KubeObject,
  replacements: readonly ImageReplacement[],
  imagePaths: readonly ImagePathRule[] = [],
): number {
  let replaced = 0;
  for (const podSpec of podSpecsOf(object)) {
    for (const list of POD_SPEC_CONTAINER_LISTS) {
      const containers = podSpec[list];
      if (!Array.isArray(containers)) continue;
      for (const container of containers) {
        const record = asRecord(container);
        if (!record || typeof record.image !== 'string') continue;
        const next = replacementFor(record.image, replacements);
        if (next !== undefined) {
          record.image = next;
          replaced += 1;
        }
      }
    }
  }
  const group = groupOf(object.apiVersion);
  for (const rule of imagePaths) {
    if (rule.kind !== object.kind || rule.group !== group) continue;
    replaced += replaceAtPath(object, parsePath(rule.path), replacements);
  }
  return replaced;
}

type PathSegment = { key: string; each: boolean };

/** ".spec.workers[].image" → [{spec}, {workers, each}, {image}] */
function parsePath(path: string): PathSegment[] {
  return path
    .replace(/^\./, '')
    .split('.')
    .filter((part) => part !== '')
    .map((part) => (part.endsWith('[]') || part.endsWith('[*]') ? { key: part.replace(/\[\*?\]$/, ''), each: true } : { key: part, each: false }));
}

function replaceAtPath(node: unknown, path: PathSegment[], replacements: readonly ImageReplacement[]): number {
  const record = asRecord(node);
  const [head, ...rest] = path;
  if (!record || !head) return 0;
  const value = record[head.key];
  if (head.each) {
    if (!Array.isArray(value)) return 0;
    if (rest.length > 0) return value.reduce((sum: number, item) => sum + replaceAtPath(item, rest, replacements), 0);
    let replaced = 0;
    value.forEach((item, index) => {
      const next = typeof item === 'string' ? replacementFor(item, replacements) : undefined;
      if (next !== undefined) {
        value[index] = next;
        replaced += 1;
      }
    });
    return replaced;
  }
  if (rest.length > 0) return replaceAtPath(value, rest, replacements);
  if (typeof value !== 'string') return 0;
  const next = replacementFor(value, replacements);
  if (next === undefined) return 0;
  record[head.key] = next;
  return 1;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function isCoreGroup(apiVersion: string): boolean {
  return groupOf(apiVersion) === '';
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
