/**
 * `.devloop/state.json`: what devloop deployed from this project and where, so prune, `devloop
 * delete` and the dev loop's orphan cleanup know where to look (and where not to) even after a
 * crash. One record per target — config, kube context and the namespace the command deployed to
 * (`-n`) — because `run -n a` and `run -n b` are two deployments: pruning or deleting one must never
 * touch the other. This module owns that scope; prune.ts and delete.ts only execute it.
 * Written atomically; it is a hint (the labels on the cluster are the truth).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { refKey, type ObjectRef } from './api.js';
import { COMMON_KINDS, uniqueKinds, type KindRef } from './kinds.js';

const STATE_FILE = join('.devloop', 'state.json');

/** Where a command deploys: the key of a record. */
export interface DeployTarget {
  /** metadata.name of the config: the devloop.dev/config label. */
  configName: string;
  kubeContext: string;
  /** The namespace objects naming none go to (`-n`, deploy.namespace, the context's). */
  namespace: string;
}

export interface DeployRecord extends DeployTarget {
  /** The dev session's run id (devloop.dev/run-id label), absent for `devloop run`/`deploy`. */
  runId?: string;
  /** ISO time of the last write. */
  updatedAt: string;
  /** "applying" while an apply is in flight (a crash leaves it so), "deployed" after. */
  phase: 'applying' | 'deployed';
  /** Objects of the last deployment to this target. */
  objects: ObjectRef[];
  /** Every kind and namespace this target ever deployed to (until deleted), so prune/delete find them. */
  kinds: KindRef[];
  namespaces: string[];
}

interface StateFileV2 {
  version: 2;
  deployments: DeployRecord[];
}

export function stateFile(projectDir: string): string {
  return join(projectDir, STATE_FILE);
}

/** Every recorded deployment ([] when there is no file, or it is unreadable: it is only a hint). */
export async function readRecords(projectDir: string): Promise<DeployRecord[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(stateFile(projectDir), 'utf8'));
  } catch {
    return [];
  }
  const file = parsed as { version?: number; deployments?: DeployRecord[] } & Partial<DeployRecord>;
  // Version 1 held a single deployment at the top level.
  const list = file.version === 2 && Array.isArray(file.deployments) ? file.deployments : file.version === 1 ? [file as DeployRecord] : [];
  return list
    .filter((r) => typeof r?.configName === 'string' && typeof r.kubeContext === 'string' && typeof r.namespace === 'string' && Array.isArray(r.objects))
    .map((r) => ({ ...r, kinds: Array.isArray(r.kinds) ? r.kinds : [], namespaces: Array.isArray(r.namespaces) ? r.namespaces : [], phase: r.phase ?? 'deployed' }));
}

/** Writes the records; no records, no file. */
async function writeRecords(projectDir: string, records: readonly DeployRecord[]): Promise<void> {
  if (records.length === 0) {
    await rm(stateFile(projectDir), { force: true });
    return;
  }
  const file: StateFileV2 = { version: 2, deployments: [...records] };
  await writeFileAtomic(stateFile(projectDir), JSON.stringify(file, null, 2) + '\n');
}

export function sameTarget(a: DeployTarget, b: DeployTarget): boolean {
  return a.configName === b.configName && a.kubeContext === b.kubeContext && a.namespace === b.namespace;
}

function recordFor(records: readonly DeployRecord[], target: DeployTarget): DeployRecord | undefined {
  return records.find((r) => sameTarget(r, target));
}

/** Records of the same config and context deployed to other targets (other namespaces). */
function otherTargets(records: readonly DeployRecord[], target: DeployTarget): DeployRecord[] {
  return records.filter((r) => r.configName === target.configName && r.kubeContext === target.kubeContext && !sameTarget(r, target));
}

/**
 * Records this deployment for its target (replacing the target's previous record, keeping the kinds
 * and namespaces it knew); other targets' records are kept as they are. Returns the new record.
 */
export async function recordDeployment(
  projectDir: string,
  fields: DeployTarget & Pick<DeployRecord, 'runId' | 'phase' | 'objects'>,
): Promise<DeployRecord> {
  const records = await readRecords(projectDir);
  const previous = recordFor(records, fields);
  const record: DeployRecord = {
    configName: fields.configName,
    kubeContext: fields.kubeContext,
    namespace: fields.namespace,
    ...(fields.runId ? { runId: fields.runId } : {}),
    updatedAt: new Date().toISOString(),
    phase: fields.phase,
    objects: fields.objects.map(plainRef),
    kinds: uniqueKinds(previous?.kinds ?? [], fields.objects),
    namespaces: [...new Set([...(previous?.namespaces ?? []), fields.namespace, ...namespacesOf(fields.objects)])],
  };
  await writeRecords(projectDir, [...records.filter((r) => !sameTarget(r, fields)), record]);
  return record;
}

/** Drops the records `drop` selects; the file goes with the last one. */
export async function forgetRecords(projectDir: string, drop: (record: DeployRecord) => boolean): Promise<void> {
  const records = await readRecords(projectDir);
  const kept = records.filter((r) => !drop(r));
  if (kept.length !== records.length) await writeRecords(projectDir, kept);
}

/** Where prune and delete look, and what they must leave alone. */
export interface CleanupScope {
  kinds: KindRef[];
  /** Namespaces to search for namespaced kinds. */
  namespaces: string[];
  /** refKeys of objects other targets' records list (a shared namespace, cluster-scoped objects). */
  keep: Set<string>;
}

/**
 * Prune after deploying `applied` to `target`: only inside the namespaces this deployment uses now
 * or used before (its own record), never in the namespaces of other targets; objects another target
 * still lists are kept. Without a record of this target, the common kinds are searched too.
 */
export function pruneScope(records: readonly DeployRecord[], target: DeployTarget, applied: readonly ObjectRef[]): CleanupScope {
  const own = recordFor(records, target);
  return {
    kinds: uniqueKinds(applied, own?.kinds ?? [], own ? [] : COMMON_KINDS),
    namespaces: [...new Set([target.namespace, ...namespacesOf(applied), ...(own?.namespaces ?? [])])],
    keep: objectsOf(otherTargets(records, target)),
  };
}

/** `devloop delete` for `target`: its namespaces and kinds (plus the common kinds), sparing other targets' objects. */
export function deleteScope(records: readonly DeployRecord[], target: DeployTarget): CleanupScope {
  const own = recordFor(records, target);
  return {
    kinds: uniqueKinds(own?.kinds ?? [], COMMON_KINDS),
    namespaces: [...new Set([target.namespace, ...(own?.namespaces ?? [])])],
    keep: objectsOf(otherTargets(records, target)),
  };
}

/** Records left by dev sessions (they carry a run id) in this context: the candidates for orphan cleanup. */
export function sessionRecords(records: readonly DeployRecord[], configName: string, kubeContext: string): DeployRecord[] {
  return records.filter((r) => r.runId !== undefined && r.configName === configName && r.kubeContext === kubeContext);
}

function objectsOf(records: readonly DeployRecord[]): Set<string> {
  return new Set(records.flatMap((r) => r.objects.map(refKey)));
}

function namespacesOf(refs: readonly ObjectRef[]): string[] {
  return refs.flatMap((o) => (o.namespace ? [o.namespace] : []));
}

function plainRef(ref: ObjectRef): ObjectRef {
  return { apiVersion: ref.apiVersion, kind: ref.kind, ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name };
}
