/**
 * Plain-JSON shapes the fake works with. Objects are stored exactly as the API server would
 * serialise them (timestamps are RFC 3339 strings), so no client-node model classes here.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldTree;
  subresource?: string;
}

/** The FieldsV1 tree: keys are `f:<field>`, `k:<json key>`, `v:<json value>` or `.`; leaves are `{}`. */
export interface FieldTree {
  [key: string]: FieldTree;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  /* eslint-disable @typescript-eslint/no-explicit-any */
  spec?: any;
  status?: any;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  // Loosely typed on purpose: spec/status/data differ per kind; the fake reads them through helpers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

/** metav1.Status as the API server sends it for failures (and for some deletes). */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Container fields the runtime needs; pods are stored as plain JSON. */
export interface FakeContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: { name: string; value?: string }[];
  ports?: { containerPort: number; protocol?: string; name?: string }[];
}

export interface FakePod extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string; uid: string };
  spec: {
    containers: FakeContainer[];
    initContainers?: FakeContainer[];
    restartPolicy?: 'Always' | 'OnFailure' | 'Never';
    nodeName?: string;
    [key: string]: unknown;
  };
}
