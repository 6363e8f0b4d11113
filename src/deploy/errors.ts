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
export function networkCodeOf(error: unknown): string | undefined {
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

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
