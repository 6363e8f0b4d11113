/**
 * The defaulting the API server does on every write (pkg/apis/<group>/v1/defaults.go plus a few
 * admission plugins): the fields a client reads back without having set them. Only the common ones.
 */
import type { KubeObject } from './types.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function defaultContainer(c: Obj): void {
  if (!c || typeof c !== 'object') return;
  if (c.image && c.imagePullPolicy === undefined) {
    const tagged = /:[\w][\w.-]{0,127}$/.test(String(c.image).split('/').pop() ?? '') || String(c.image).includes('@');
    c.imagePullPolicy = !tagged || String(c.image).endsWith(':latest') ? 'Always' : 'IfNotPresent';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of c.ports ?? []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: Obj | undefined, restartPolicy = 'Always'): void {
  if (!spec || typeof spec !== 'object') return;
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  spec.restartPolicy ??= restartPolicy;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
}

function defaultTemplate(object: KubeObject): void {
  const template = object.spec?.template;
  if (template && typeof template === 'object') {
    template.metadata ??= {};
    defaultPodSpec(template.spec);
  }
}

let nextClusterIP = 10;

export function applyDefaults(object: KubeObject, creating: boolean): void {
  // ObjectMeta's maps are omitempty: an apply that drops the last label leaves no `labels: {}`.
  for (const key of ['labels', 'annotations'] as const) {
    const map = object.metadata[key];
    if (map && typeof map === 'object' && Object.keys(map).length === 0) delete object.metadata[key];
  }
  const spec = object.spec;
  switch (object.kind) {
    case 'Pod':
      defaultPodSpec(spec);
      if (spec) {
        // ServiceAccount admission
        spec.serviceAccountName ??= 'default';
        spec.serviceAccount ??= spec.serviceAccountName;
        spec.enableServiceLinks ??= true;
        spec.priority ??= 0;
      }
      break;
    case 'Deployment':
      if (!spec) break;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate' };
      if ((spec.strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
        spec.strategy.type = 'RollingUpdate';
        spec.strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...spec.strategy.rollingUpdate };
      }
      defaultTemplate(object);
      break;
    case 'ReplicaSet':
    case 'ReplicationController':
      if (!spec) break;
      spec.replicas ??= 1;
      defaultTemplate(object);
      break;
    case 'StatefulSet':
      if (!spec) break;
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      defaultTemplate(object);
      break;
    case 'DaemonSet':
      if (!spec) break;
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      defaultTemplate(object);
      break;
    case 'Job':
      if (!spec) break;
      if (spec.parallelism === undefined && spec.completions === undefined) spec.completions = 1;
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      if (creating && object.metadata.uid && !spec.manualSelector) {
        // The Job gets a selector on its own uid, and its pod template the matching labels.
        const uid = object.metadata.uid;
        spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        spec.template ??= {};
        spec.template.metadata ??= {};
        spec.template.metadata.labels = {
          ...spec.template.metadata.labels,
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': object.metadata.name,
          'controller-uid': uid,
          'job-name': object.metadata.name,
        };
      }
      spec.suspend ??= false;
      if (spec.template?.spec) defaultPodSpec(spec.template.spec, spec.template.spec.restartPolicy ?? 'Never');
      break;
    case 'CronJob':
      if (!spec) break;
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      break;
    case 'Service':
      if (!spec) break;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      spec.internalTrafficPolicy ??= 'Cluster';
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      for (const p of spec.ports ?? []) {
        if (!p || typeof p !== 'object') continue;
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      if (creating && spec.clusterIP === undefined && spec.type !== 'ExternalName') {
        // A fake address: nothing routes to it; clients must port-forward to a pod.
        spec.clusterIP = `10.96.${Math.floor(nextClusterIP / 250)}.${(nextClusterIP++ % 250) + 1}`;
      }
      if (spec.clusterIP && spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
      break;
    case 'Namespace':
      object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name! };
      object.spec = { finalizers: ['kubernetes'], ...spec };
      break;
    case 'Secret':
      object.type ??= 'Opaque';
      break;
    default:
      break;
  }
}
