/**
 * Wrongly typed fields (`replicas: "two"`), answered the way kube-apiserver v1.26 answers each write
 * path (checked on the shared cluster): server-side apply → 500 "failed to create typed patch object
 * …: .spec.replicas: expected numeric (int or float), got string"; create/update → 400 "… cannot be
 * handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
 * of type int32"; strategic merge patch → 422 on field "patch" with a dump of the whole patch and
 * "unrecognized type: int32". Only a few int32 fields are known (replicas of the apps workloads).
 */
import { StatusError } from './status.js';
import type { ResourceInfo } from './discovery.js';
import type { KubeObject, Status } from './types.js';

const REPLICAS_KINDS: Record<string, string> = { Deployment: 'DeploymentSpec', StatefulSet: 'StatefulSetSpec', ReplicaSet: 'ReplicaSetSpec' };

interface Mismatch {
  /** JSON path without the leading dot: "spec.replicas". */
  path: string;
  goStruct: string;
  goType: 'int32';
  jsonType: string;
}

function mismatch(res: ResourceInfo, body: unknown): Mismatch | undefined {
  const goStruct = REPLICAS_KINDS[res.kind];
  if (!goStruct || res.group !== 'apps') return undefined;
  const replicas = (body as { spec?: { replicas?: unknown } } | null)?.spec?.replicas;
  if (replicas === undefined || replicas === null || typeof replicas === 'number') return undefined;
  return { path: 'spec.replicas', goStruct, goType: 'int32', jsonType: Array.isArray(replicas) ? 'array' : typeof replicas === 'object' ? 'object' : typeof replicas === 'boolean' ? 'bool' : typeof replicas };
}

const status = (code: number, message: string, extra: Partial<Status> = {}): StatusError =>
  new StatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code, ...extra } as Status);

/** Server-side apply of a body with a wrongly typed field: 500, no reason (v1.26). */
export function checkApplyTypes(res: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject): void {
  const m = mismatch(res, body);
  if (!m) return;
  const gv = res.group ? `${res.group}/${res.version}` : `/${res.version}`;
  throw status(500, `failed to create typed patch object (${namespace ? `${namespace}/` : ''}${name}; ${gv}, Kind=${res.kind}): .${m.path}: expected numeric (int or float), got ${m.jsonType}`);
}

/** Create/update: the JSON decoder's error, 400 BadRequest. */
export function checkDecodeTypes(res: ResourceInfo, body: unknown): void {
  const m = mismatch(res, body);
  if (!m) return;
  throw status(400, `${res.kind} in version "${res.version}" cannot be handled as a ${res.kind}: json: cannot unmarshal ${m.jsonType} into Go struct field ${m.goStruct}.${m.path} of type ${m.goType}`, { reason: 'BadRequest' });
}

/** Strategic merge patch: 422 Invalid on "patch", with Go's dump of the whole patch map. */
export function checkPatchTypes(res: ResourceInfo, patch: unknown): void {
  const m = mismatch(res, patch);
  if (!m) return;
  const detail = `Invalid value: ${JSON.stringify(goDump(patch))}: unrecognized type: ${m.goType}`;
  throw status(422, ` "" is invalid: patch: ${detail}`, { reason: 'Invalid', details: { causes: [{ reason: 'FieldValueInvalid', message: detail, field: 'patch' }] } } as Partial<Status>);
}

/** fmt's %v of a decoded JSON value: map[k:v …] with sorted keys, lists as [a b]. */
function goDump(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goDump).join(' ')}]`;
  if (value && typeof value === 'object') {
    return `map[${Object.keys(value).sort().map((k) => `${k}:${goDump((value as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return value === null ? '<nil>' : String(value);
}
