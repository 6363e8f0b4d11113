/**
 * Label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`), field selectors
 * (`=`, `==`, `!=` on the fields each resource supports; anything else is a 400 like the real
 * server's "field label not supported"), and LabelSelector objects (matchLabels/matchExpressions)
 * as controllers use them.
 */
import { StatusError, statuses } from './status.js';
import type { KubeObject } from './types.js';

type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type Matcher = (object: KubeObject) => boolean;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function parseLabelSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()).filter(Boolean) });
    } else if ((m = part.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/))) {
      out.push({ key: m[1]!, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]! });
    } else if ((m = part.match(/^!\s*([\w./-]+)$/))) {
      out.push({ key: m[1]!, op: 'notexists' });
    } else if ((m = part.match(/^([\w./-]+)$/))) {
      out.push({ key: m[1]!, op: 'exists' });
    } else {
      throw new StatusError(statuses.badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt`));
    }
  }
  return out;
}

function matches(labels: Record<string, string>, req: Requirement): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'eq':
      return has && value === req.value;
    case 'neq':
      return !has || value !== req.value;
    case 'in':
      return has && req.values.includes(value!);
    case 'notin':
      return !has || !req.values.includes(value!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

export function labelMatcher(text: string | null | undefined): Matcher {
  if (!text) return () => true;
  const reqs = parseLabelSelector(text);
  return (object) => reqs.every((req) => matches(object.metadata.labels ?? {}, req));
}

/** Field selectors each resource supports besides metadata.name / metadata.namespace. */
const FIELDS: Record<string, string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  secrets: ['type'],
  namespaces: ['status.phase'],
  nodes: ['spec.unschedulable'],
  replicasets: ['status.replicas'],
  replicationcontrollers: ['status.replicas'],
  jobs: ['status.successful'],
};

function fieldValue(object: KubeObject, path: string): string {
  if (path === 'source') return String(object.source?.component ?? '');
  if (path === 'status.successful') return String(object.status?.succeeded ?? 0);
  let node: unknown = object;
  for (const part of path.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return node === undefined || node === null ? '' : String(node);
}

export function fieldMatcher(text: string | null | undefined, resource: string, kind: string): Matcher {
  if (!text) return () => true;
  const reqs: { key: string; negate: boolean; value: string }[] = [];
  for (const part of splitTopLevel(text)) {
    const m = part.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new StatusError(statuses.badRequest(`invalid selector: '${text}'; can't understand '${part}'`));
    const key = m[1]!;
    if (key !== 'metadata.name' && key !== 'metadata.namespace' && !(FIELDS[resource] ?? []).includes(key)) {
      throw new StatusError(statuses.badRequest(`field label not supported: ${key}`));
    }
    reqs.push({ key, negate: m[2] === '!=', value: m[3]!.trim() });
  }
  void kind;
  return (object) => reqs.every((r) => (fieldValue(object, r.key) === r.value) !== r.negate);
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions) as a predicate on labels. */
export function selectorObjectMatcher(selector: KubeObject['spec'] | undefined): (labels: Record<string, string> | undefined) => boolean {
  if (!selector) return () => false;
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries((selector.matchLabels ?? {}) as Record<string, string>)) reqs.push({ key, op: 'eq', value });
  for (const e of (selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    const op = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : 'notexists';
    reqs.push(op === 'in' || op === 'notin' ? { key: e.key, op, values: e.values ?? [] } : { key: e.key, op });
  }
  return (labels) => reqs.every((req) => matches(labels ?? {}, req));
}

/** A Service-style selector (plain map); an empty map selects nothing for Services. */
export function mapMatcher(selector: Record<string, string> | undefined): (labels: Record<string, string> | undefined) => boolean {
  if (!selector || !Object.keys(selector).length) return () => false;
  return (labels) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
