/**
 * metav1.Status bodies exactly as k8s.io/apimachinery/pkg/api/errors builds them: clients (client-node's
 * ApiException.body, kubectl) read `code`, `reason`, `message` and `details`, so the wording matters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { Status } from './types.js';

/** A Status to send, thrown by handlers and turned into a response by the router. */
export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

export interface ResourceRef {
  /** API group, '' for core. */
  group: string;
  /** Plural resource name, e.g. "deployments". */
  resource: string;
}

/** "deployments.apps" / "pods": how the API server names a resource in messages. */
export function qualified(ref: ResourceRef): string {
  return ref.group ? `${ref.resource}.${ref.group}` : ref.resource;
}

function details(ref: ResourceRef | undefined, name: string | undefined): Status['details'] {
  const out: NonNullable<Status['details']> = {};
  if (name !== undefined) out.name = name;
  if (ref?.group) out.group = ref.group;
  if (ref) out.kind = ref.resource;
  return out;
}

function failure(code: number, reason: string, message: string, det?: Status['details']): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (det) status.details = det;
  return status;
}

export const statuses = {
  notFound: (ref: ResourceRef, name: string) => failure(404, 'NotFound', `${qualified(ref)} "${name}" not found`, details(ref, name)),
  /** Unknown URL inside the API (no such resource): what the real server says, details empty. */
  noResource: () => failure(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (ref: ResourceRef, name: string) =>
    failure(409, 'AlreadyExists', `${qualified(ref)} "${name}" already exists`, details(ref, name)),
  conflict: (ref: ResourceRef, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(ref)} "${name}": ${why}`, details(ref, name)),
  applyConflict: (message: string, causes: { message: string; field: string }[]) =>
    failure(409, 'Conflict', message, { causes: causes.map((c) => ({ reason: 'FieldManagerConflict', message: c.message, field: c.field })) }),
  /**
   * 422. `kind` is the Kind ("Deployment"), `group` its group; causes carry `field` and the message
   * after the field ("Required value", `Invalid value: 0: must be between…`).
   */
  invalid: (kind: string, group: string, name: string, causes: InvalidCause[]) => {
    const qualifiedKind = group ? `${kind}.${group}` : kind;
    const rendered = causes.map((c) => `${c.field}: ${c.message}`);
    const list = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
    // `name` is omitempty on the wire: PatchOptions errors (name "") carry none.
    const det: NonNullable<Status['details']> = name ? { name, kind } : { kind };
    if (group) det.group = group;
    det.causes = causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field }));
    return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, det);
  },
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (ref: ResourceRef, name: string, why: string) =>
    failure(403, 'Forbidden', `${qualified(ref)} "${name}" is forbidden: ${why}`, details(ref, name)),
  methodNotAllowed: () => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  gone: (message: string) => failure(410, 'Expired', message),
  unsupportedMediaType: (contentType: string, accepted: string[]) =>
    failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, undefined),
  internal: (message: string) => failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  serviceUnavailable: (message = 'the server is currently unable to handle the request') => failure(503, 'ServiceUnavailable', message, {}),
  timeout: (message: string) => failure(504, 'Timeout', message, {}),
  success: (ref: ResourceRef, name: string, uid?: string): Status => {
    const det = details(ref, name) ?? {};
    if (uid) det.uid = uid;
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: det, code: 200 } as Status;
  },
};

export interface InvalidCause {
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueForbidden';
  field: string;
  message: string;
}

export const cause = {
  required: (field: string, detail = ''): InvalidCause => ({ reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' }),
  invalid: (field: string, value: unknown, detail: string): InvalidCause => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${goValue(value)}: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): InvalidCause => ({
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): InvalidCause => ({ reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${goValue(value)}` }),
  forbidden: (field: string, detail: string): InvalidCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` }),
};

/** Values in field.Error messages are printed the Go way: strings quoted, numbers bare, maps as map[string]string{…}. */
function goValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: Status): void {
  sendJson(res, status.code, status);
}

/** Answers an upgrade request (WebSocket) that cannot proceed with a plain HTTP Status response. */
export function rejectUpgrade(socket: Duplex, status: Status): void {
  const text = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export type { IncomingMessage };
