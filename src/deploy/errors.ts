/**
 * Turning Kubernetes API failures into one-line DevloopErrors that name the manifest, the object
 * and the field, plus which failures are worth retrying.
 */
import { DevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { ManifestSource } from '../render/types.js';

/** The parts of a Kubernetes `Status` body devloop reads. */
export interface KubeStatus {
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { field?: string; message?: string; reason?: string }[]; retryAfterSeconds?: number };
}

/** HTTP status of an API failure (client-node's ApiException, or a watch's statusCode), if any. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { code?: unknown; statusCode?: unknown };
  if (typeof record.code === 'number') return record.code;
  if (typeof record.statusCode === 'number') return record.statusCode;
  return undefined;
}

/** The Status object in an API error body (client-node hands it over as text). */
export function statusOf(error: unknown): KubeStatus | undefined {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'object' && body !== null) return body as KubeStatus;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as KubeStatus) : undefined;
  } catch {
    return { message: body.slice(0, 200) };
  }
}

/** Network-level failure code (ECONNREFUSED, ENOTFOUND, ECONNRESET, …) of a request, if any. */
function networkCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** 409 conflicts, 429 throttling, 5xx and dropped connections are transient; everything else is not. */
export function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  // A wrongly typed field answers 500 on server-side apply (v1.26): the same answer every time.
  if (status === 500 && wrongType(statusOf(error)?.message)) return false;
  if (status !== undefined) return status === 409 || status === 429 || (status >= 500 && status !== 501);
  const code = networkCodeOf(error);
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}

export interface ErrorSubject {
  /** "Deployment/hello" */
  object?: string;
  source?: ManifestSource;
  /** What devloop was doing: "apply", "delete", "list", … */
  action: string;
}

/** A DevloopError for any failure of a Kubernetes call. */
export function explainKubeError(error: unknown, kube: Pick<KubeClient, 'server' | 'contextName'>, subject: ErrorSubject): DevloopError {
  if (error instanceof DevloopError) return error;
  const where = [subject.source ? `${subject.source.file}:${subject.source.line}` : '', subject.object ?? ''].filter(Boolean).join(' ');
  const prefix = where ? `${where}: ` : '';
  const status = httpStatusOf(error);
  const body = statusOf(error);
  const network = networkCodeOf(error);
  if (status === undefined && network) {
    return new DevloopError('KUBE_UNREACHABLE', `cannot reach the Kubernetes API at ${kube.server} (context "${kube.contextName}"): ${network}`, {
      hint: 'is the cluster running? check `kubectl cluster-info` or pick another context with --kube-context',
      cause: error,
    });
  }
  const mistyped = wrongType(body?.message) ?? wrongType(body?.details?.causes?.[0]?.message);
  if (mistyped && (status === 400 || status === 422 || status === 500)) {
    return new DevloopError('KUBE_INVALID', `${prefix}rejected by the API server: ${mistyped}`, { hint: 'fix the type of the field in the manifest (quotes make a number a string)', cause: error });
  }
  switch (status) {
    case 401:
      return new DevloopError('KUBE_UNAUTHORIZED', `the Kubernetes API at ${kube.server} rejected the credentials of context "${kube.contextName}" (401)`, {
        hint: 'the credentials are missing or expired: log in again (e.g. refresh your cloud CLI login) or fix the kubeconfig user',
        cause: error,
      });
    case 403:
      return new DevloopError('KUBE_FORBIDDEN', `${prefix}${subject.action} forbidden: ${body?.message ?? 'forbidden'}`, {
        hint: `the user of context "${kube.contextName}" lacks RBAC permission for this`,
        cause: error,
      });
    case 422:
    case 400: {
      const causes = (body?.details?.causes ?? []).map((c) => [c.field, c.message].filter(Boolean).join(': ')).filter(Boolean);
      const detail = causes.length > 0 ? causes.join('; ') : (body?.message ?? 'invalid object');
      return new DevloopError('KUBE_INVALID', `${prefix}rejected by the API server: ${oneLine(detail)}`, {
        hint: 'fix the field in the manifest',
        cause: error,
      });
    }
    case 404:
      return new DevloopError('KUBE_NOT_FOUND', `${prefix}${subject.action}: ${oneLine(body?.message ?? 'not found')}`, {
        hint: 'does the namespace exist? add a Namespace manifest or create it first',
        cause: error,
      });
    default:
      break;
  }
  const message = status !== undefined ? `${body?.message ?? `HTTP ${status}`} (HTTP ${status})` : error instanceof Error ? error.message : String(error);
  return new DevloopError('KUBE_API_ERROR', `${prefix}${subject.action} failed: ${oneLine(message)}`, {
    hint: status !== undefined && status >= 500 ? 'the API server kept failing; retry later or check its health' : undefined,
    cause: error,
  });
}

/**
 * "spec.replicas: expected an integer, got a string" from the API server's type errors, which
 * otherwise read like decoder dumps (answers of kube-apiserver v1.26 to `replicas: "two"`):
 * - server-side apply: `failed to create typed patch object (ns/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string`
 * - create/update: `… cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`
 * - strategic merge patch: `patch: Invalid value: "map[…the whole patch…]": unrecognized type: int32` (no field named)
 */
export function wrongType(message: string | undefined): string | undefined {
  if (!message) return undefined;
  const typed = /failed to create typed patch object \([^)]*\): \.?(\S+): expected (.+?), got (.+)$/.exec(message);
  if (typed) return `${typed[1]}: expected ${typeName(typed[2]!)}, got ${valueKind(typed[3]!)}`;
  const decoded = /cannot unmarshal (\w+) into Go struct field \w+\.(\S+) of type (\S+)/.exec(message);
  if (decoded) return `${decoded[2]}: expected ${typeName(decoded[3]!)}, got ${valueKind(decoded[1]!)}`;
  const unrecognized = /unrecognized type: (\S+)\s*$/.exec(message);
  if (unrecognized) return `a field has the wrong type: the server expected ${typeName(unrecognized[1]!)} (it names no field)`;
  return undefined;
}

function typeName(go: string): string {
  if (/^u?int(8|16|32|64)?$/.test(go) || go === 'numeric (int or float)') return go.startsWith('numeric') ? 'a number' : `an integer (${go})`;
  if (/^float(32|64)$/.test(go)) return `a number (${go})`;
  if (go === 'bool' || go === 'boolean') return 'true or false';
  if (go === 'string') return 'a string';
  if (go.startsWith('map') || go === 'map') return 'a mapping';
  if (go.startsWith('[]') || go === 'list') return 'a list';
  return go;
}

/** "string" (JSON type) or the typed converter's `&{yes}` (the value itself). */
function valueKind(text: string): string {
  const value = /^&\{(.*)\}$/.exec(text.trim());
  if (value) return `"${value[1]}"`;
  if (text === 'string' || text === 'number' || text === 'object' || text === 'array' || text === 'bool') return `a ${text === 'bool' ? 'boolean' : text === 'object' ? 'mapping' : text === 'array' ? 'list' : text}`;
  return text.trim();
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
