/**
 * Two documents for the same object would both be applied, and which one the cluster keeps would
 * depend on apply order: refuse them before anything is applied. Pure.
 */
import { groupOf } from '../deploy/api.js';
import { DevloopError } from '../errors.js';
import { describeObject, describeSource, type ManifestObject } from './types.js';

/**
 * Throws MANIFEST_DUPLICATE naming both places when two objects share group, kind, namespace and name.
 * `defaultNamespace` is where objects without a namespace go; when unknown (render without a cluster),
 * only objects that both omit or both name the same namespace compare equal. The API version is not part
 * of an object's identity (apps/v1 and apps/v1beta2 Deployments are one object); group and kind compare
 * case-insensitively, as discovery resolves them.
 */
export function checkDuplicates(objects: readonly ManifestObject[], defaultNamespace?: string): void {
  const seen = new Map<string, ManifestObject>();
  for (const item of objects) {
    const { object } = item;
    const namespace = object.metadata.namespace || defaultNamespace || '';
    const key = [groupOf(object.apiVersion).toLowerCase(), object.kind.toLowerCase(), namespace, object.metadata.name].join('\0');
    const first = seen.get(key);
    if (!first) {
      seen.set(key, item);
      continue;
    }
    const where = namespace ? ` in namespace ${namespace}` : '';
    throw new DevloopError(
      'MANIFEST_DUPLICATE',
      `${describeSource(item.source)} ${describeObject(object)}${where} is also defined at ${describeSource(first.source)}`,
      { hint: 'each object may appear once in the manifests: remove one copy or give it another name' },
    );
  }
}
