/**
 * `.devloop/state.json`: what devloop last deployed from this project, so `devloop delete` and the
 * dev loop's orphan cleanup know where to look even after a crash. Written atomically.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectRef } from '../deploy/api.js';
import type { KindRef } from '../deploy/kinds.js';
import { uniqueKinds } from '../deploy/kinds.js';
import { writeFileAtomic } from '../util/atomic.js';

export const STATE_FILE = join('.devloop', 'state.json');

export interface DeployState {
  version: 1;
  /** metadata.name of the config: the devloop.dev/config label. */
  configName: string;
  kubeContext: string;
  /** Default namespace the objects were deployed with. */
  namespace: string;
  /** The dev session's run id (devloop.dev/run-id label), absent for `devloop run`/`deploy`. */
  runId?: string;
  /** ISO time of the last write. */
  updatedAt: string;
  /** "applying" while an apply is in flight (a crash leaves it so), "deployed" after. */
  phase: 'applying' | 'deployed';
  /** Objects of the last deployment. */
  objects: ObjectRef[];
  /** Every kind and namespace ever deployed from here (until deleted), so prune/delete find them. */
  kinds: KindRef[];
  namespaces: string[];
}

export function stateFile(projectDir: string): string {
  return join(projectDir, STATE_FILE);
}

/** The recorded state, or undefined when there is none (or it is unreadable: it is only a hint). */
export async function readDeployState(projectDir: string): Promise<DeployState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(stateFile(projectDir), 'utf8')) as Partial<DeployState>;
    if (parsed.version !== 1 || typeof parsed.configName !== 'string' || !Array.isArray(parsed.objects)) return undefined;
    return { kinds: [], namespaces: [], phase: 'deployed', ...parsed } as DeployState;
  } catch {
    return undefined;
  }
}

export async function writeDeployState(projectDir: string, state: DeployState): Promise<void> {
  await writeFileAtomic(stateFile(projectDir), JSON.stringify(state, null, 2) + '\n');
}

/** The next state: these objects, plus the kinds and namespaces the previous state knew. */
export function nextDeployState(
  previous: DeployState | undefined,
  fields: Omit<DeployState, 'version' | 'updatedAt' | 'kinds' | 'namespaces'>,
): DeployState {
  const sameTarget = previous && previous.configName === fields.configName && previous.kubeContext === fields.kubeContext;
  const namespaces = [...new Set([...(sameTarget ? previous.namespaces : []), fields.namespace, ...fields.objects.flatMap((o) => (o.namespace ? [o.namespace] : []))])];
  return {
    version: 1,
    ...fields,
    updatedAt: new Date().toISOString(),
    kinds: uniqueKinds(sameTarget ? previous.kinds : [], fields.objects),
    namespaces,
  };
}
