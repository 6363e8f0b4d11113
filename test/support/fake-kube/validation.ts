/**
 * The validation a client most often trips over (pkg/apis/<group>/validation), producing 422 Invalid
 * with field paths and messages worded like the real ones. Not exhaustive: unknown fields are kept,
 * not rejected (the real server drops them or warns, depending on fieldValidation).
 */
import { cause, type InvalidCause } from './status.js';
import { selectorObjectMatcher } from './selectors.js';
import { deepEqual } from './patch.js';
import type { KubeObject } from './types.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** Kinds whose names must be DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service', 'Deployment', 'StatefulSet', 'DaemonSet']);

function validatePort(field: string, value: unknown, out: InvalidCause[]): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) out.push(cause.invalid(field, value, 'must be between 1 and 65535, inclusive'));
}

function validateContainers(list: unknown, field: string, out: InvalidCause[], required: boolean): void {
  if (!Array.isArray(list) || list.length === 0) {
    if (required) out.push(cause.required(field));
    return;
  }
  const names = new Set<string>();
  list.forEach((c: Obj, i) => {
    const at = `${field}[${i}]`;
    if (!c || typeof c !== 'object') return out.push(cause.required(at)) && undefined;
    if (!c.name) out.push(cause.required(`${at}.name`));
    else if (!DNS1123_LABEL.test(c.name)) out.push(cause.invalid(`${at}.name`, c.name, LABEL_MSG));
    else if (names.has(c.name)) out.push(cause.duplicate(`${at}.name`, c.name));
    else names.add(c.name);
    if (!c.image || typeof c.image !== 'string' || !c.image.trim()) out.push(cause.required(`${at}.image`));
    (c.ports ?? []).forEach((p: Obj, j: number) => {
      if (p?.containerPort === undefined) out.push(cause.required(`${at}.ports[${j}].containerPort`));
      else validatePort(`${at}.ports[${j}].containerPort`, p.containerPort, out);
      if (p?.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) out.push(cause.notSupported(`${at}.ports[${j}].protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
    });
    (c.env ?? []).forEach((e: Obj, j: number) => {
      if (!e?.name) out.push(cause.required(`${at}.env[${j}].name`));
    });
  });
}

function validatePodSpec(spec: Obj | undefined, field: string, out: InvalidCause[], restartPolicies = ['Always', 'OnFailure', 'Never']): void {
  if (!spec || typeof spec !== 'object') {
    out.push(cause.required(`${field}.containers`));
    return;
  }
  validateContainers(spec.containers, `${field}.containers`, out, true);
  validateContainers(spec.initContainers, `${field}.initContainers`, out, false);
  if (spec.restartPolicy !== undefined && !restartPolicies.includes(spec.restartPolicy)) {
    out.push(cause.notSupported(`${field}.restartPolicy`, spec.restartPolicy, restartPolicies));
  }
}

function validateSelectorTemplate(object: KubeObject, out: InvalidCause[]): void {
  const spec = object.spec ?? {};
  if (!spec.selector) {
    out.push(cause.required('spec.selector'));
  } else if (!Object.keys(spec.selector.matchLabels ?? {}).length && !(spec.selector.matchExpressions ?? []).length) {
    out.push(cause.invalid('spec.selector', spec.selector, 'empty selector is invalid for deployment'));
  } else if (!selectorObjectMatcher(spec.selector)(spec.template?.metadata?.labels)) {
    out.push(cause.invalid('spec.template.metadata.labels', spec.template?.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
  }
  if (spec.replicas !== undefined && (!Number.isInteger(spec.replicas) || spec.replicas < 0)) {
    out.push(cause.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  validatePodSpec(spec.template?.spec, 'spec.template.spec', out, object.kind === 'Job' ? ['OnFailure', 'Never'] : ['Always']);
}

export function validate(object: KubeObject, old: KubeObject | undefined): InvalidCause[] {
  const out: InvalidCause[] = [];
  const name = object.metadata?.name;
  if (!name) out.push(cause.required('metadata.name', 'name or generateName is required'));
  else if (LABEL_NAMED.has(object.kind) ? !DNS1123_LABEL.test(name) : !DNS1123_SUBDOMAIN.test(name)) {
    out.push(cause.invalid('metadata.name', name, LABEL_NAMED.has(object.kind) ? LABEL_MSG : SUBDOMAIN_MSG));
  }
  for (const [k, v] of Object.entries(object.metadata?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
      out.push(cause.invalid(`metadata.labels`, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
    }
    void k;
  }
  const spec = object.spec;
  switch (object.kind) {
    case 'Pod':
      validatePodSpec(spec, 'spec', out);
      if (old) {
        // Pods are mostly immutable: only images (and a few fields) may change in place.
        const strip = (s: Obj | undefined) => {
          const copy = structuredClone(s ?? {});
          for (const c of [...(copy.containers ?? []), ...(copy.initContainers ?? [])]) delete c.image;
          delete copy.activeDeadlineSeconds;
          delete copy.tolerations;
          delete copy.terminationGracePeriodSeconds;
          delete copy.nodeName;
          return copy;
        };
        if (!deepEqual(strip(spec), strip(old.spec))) {
          out.push(cause.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'));
        }
      }
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      validateSelectorTemplate(object, out);
      if (old && spec?.selector && !deepEqual(spec.selector, old.spec?.selector)) out.push(cause.invalid('spec.selector', spec.selector, 'field is immutable'));
      if (object.kind === 'StatefulSet' && old) {
        const strip = (s: Obj | undefined) => {
          const copy = structuredClone(s ?? {});
          for (const k of ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']) delete copy[k];
          return copy;
        };
        if (!deepEqual(strip(spec), strip(old.spec))) {
          out.push(cause.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
        }
      }
      break;
    case 'Job':
      validatePodSpec(spec?.template?.spec, 'spec.template.spec', out, ['OnFailure', 'Never']);
      if (spec?.template?.spec && spec.template.spec.restartPolicy === undefined) out.push(cause.required('spec.template.spec.restartPolicy'));
      if (old && !deepEqual(spec?.template, old.spec?.template)) out.push(cause.invalid('spec.template', spec?.template, 'field is immutable'));
      break;
    case 'Service': {
      const type = spec?.type ?? 'ClusterIP';
      if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) out.push(cause.notSupported('spec.type', type, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']));
      const ports = spec?.ports;
      if (type !== 'ExternalName' && spec?.clusterIP !== 'None' && (!Array.isArray(ports) || !ports.length)) out.push(cause.required('spec.ports'));
      const seen = new Set<string>();
      (Array.isArray(ports) ? ports : []).forEach((p: Obj, i: number) => {
        if (p?.port === undefined) out.push(cause.required(`spec.ports[${i}].port`));
        else validatePort(`spec.ports[${i}].port`, p.port, out);
        if (typeof p?.targetPort === 'number') validatePort(`spec.ports[${i}].targetPort`, p.targetPort, out);
        if (ports.length > 1 && !p?.name) out.push(cause.required(`spec.ports[${i}].name`));
        const key = `${p?.port}/${p?.protocol ?? 'TCP'}`;
        if (seen.has(key)) out.push(cause.duplicate(`spec.ports[${i}]`, key));
        seen.add(key);
      });
      if (old && old.spec?.clusterIP && spec?.clusterIP !== undefined && spec.clusterIP !== old.spec.clusterIP) {
        out.push(cause.invalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set'));
      }
      break;
    }
    case 'ConfigMap':
    case 'Secret':
      for (const key of Object.keys({ ...object.data, ...object.binaryData, ...object.stringData })) {
        if (!/^[-._a-zA-Z0-9]+$/.test(key)) out.push(cause.invalid(`data[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
      }
      break;
    case 'CustomResourceDefinition': {
      const names = spec?.names ?? {};
      if (!spec?.group) out.push(cause.required('spec.group'));
      if (!names.plural) out.push(cause.required('spec.names.plural'));
      if (!names.kind) out.push(cause.required('spec.names.kind'));
      if (!['Namespaced', 'Cluster'].includes(spec?.scope)) out.push(cause.notSupported('spec.scope', spec?.scope ?? '', ['Cluster', 'Namespaced']));
      if (!Array.isArray(spec?.versions) || !spec.versions.length) out.push(cause.required('spec.versions'));
      if (name && spec?.group && names.plural && name !== `${names.plural}.${spec.group}`) {
        out.push(cause.invalid('metadata.name', name, `must be spec.names.plural+"."+spec.group`));
      }
      break;
    }
    default:
      break;
  }
  return out;
}
