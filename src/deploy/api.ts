/**
 * The Kubernetes access deploy needs, shared by apply, prune, status and delete within one run:
 * one KubernetesObjectApi (its discovery cache lives for the run), plus the resolved namespace.
 */
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';

export interface ResourceInfo {
  /** Plural resource name, e.g. "deployments". */
  name: string;
  namespaced: boolean;
}

/** What deploy stages call; a small surface so tests and the dev loop can share one per run. */
export interface DeployApi {
  kube: KubeClient;
  objects: k8s.KubernetesObjectApi;
  /** Discovery: the resource serving `kind` in `apiVersion`, or undefined when the server has none. */
  resolve(apiVersion: string, kind: string): Promise<ResourceInfo | undefined>;
  /** URL path of the collection, e.g. "/apis/apps/v1/namespaces/default/deployments". */
  collectionPath(apiVersion: string, resource: ResourceInfo, namespace?: string): string;
  /** Set after the first HTTP 415 on an apply patch: this server predates server-side apply. */
  serverSideApplyUnsupported: boolean;
}

export function createDeployApi(kube: KubeClient): DeployApi {
  // A subclass only to reach KubernetesObjectApi's discovery (protected `resource`) and share its cache.
  class ObjectApiWithDiscovery extends kube.lib.KubernetesObjectApi {
    async resolveResource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
      try {
        const resource = await this.resource(apiVersion, kind);
        return resource ? { name: resource.name, namespaced: resource.namespaced } : undefined;
      } catch (error) {
        // An unknown group/version answers 404 on discovery: the kind is unknown, not the server broken.
        if (error instanceof kube.lib.ApiException && error.code === 404) return undefined;
        throw error;
      }
    }
  }
  const objects = kube.kc.makeApiClient(ObjectApiWithDiscovery);
  // Objects that name no namespace get devloop's resolved one, never the client's own default.
  (objects as unknown as { defaultNamespace: string }).defaultNamespace = kube.namespace;
  // The first lookup of a group/version fetches its discovery document; concurrent lookups wait for it
  // instead of fetching it again, then hit the client's cache.
  const firstLookups = new Map<string, Promise<unknown>>();
  return {
    kube,
    objects,
    resolve: async (apiVersion, kind) => {
      const first = firstLookups.get(apiVersion);
      if (!first) {
        const lookup = objects.resolveResource(apiVersion, kind);
        firstLookups.set(apiVersion, lookup.catch(() => undefined));
        return lookup;
      }
      await first;
      return objects.resolveResource(apiVersion, kind);
    },
    collectionPath: (apiVersion, resource, namespace) => {
      const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      return resource.namespaced && namespace
        ? `${root}/namespaces/${encodeURIComponent(namespace)}/${resource.name}`
        : `${root}/${resource.name}`;
    },
    serverSideApplyUnsupported: false,
  };
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function refOf(object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

export function refKey(ref: ObjectRef): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** "deployment/hello" (kubectl's short form), for messages and progress events. */
export function refName(ref: Pick<ObjectRef, 'kind' | 'name'>): string {
  return `${ref.kind.toLowerCase()}/${ref.name}`;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
