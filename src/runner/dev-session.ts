/**
 * `.devloop/dev-session.json`: which dev session (run id, pid) owns this project's deployment, so
 * the next `devloop dev` can tell a crashed session's leftovers (pid gone) from a live session.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { DeployRecord } from '../deploy/record.js';

export interface DevSessionRecord {
  runId: string;
  pid: number;
  configName: string;
  kubeContext: string;
  startedAt: string;
}

export function sessionFile(projectDir: string): string {
  return join(projectDir, '.devloop', 'dev-session.json');
}

export async function readSession(projectDir: string): Promise<DevSessionRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(sessionFile(projectDir), 'utf8')) as Partial<DevSessionRecord>;
    if (typeof parsed.runId !== 'string' || typeof parsed.pid !== 'number') return undefined;
    return parsed as DevSessionRecord;
  } catch {
    return undefined;
  }
}

export async function writeSession(projectDir: string, record: DevSessionRecord): Promise<void> {
  await writeFileAtomic(sessionFile(projectDir), JSON.stringify(record, null, 2) + '\n');
}

export async function removeSession(projectDir: string, runId: string): Promise<void> {
  const current = await readSession(projectDir);
  if (!current || current.runId === runId) await rm(sessionFile(projectDir), { force: true });
}

/**
 * After a deployment took over: a dead session's file goes once no record carries its run id any
 * more (its objects were re-applied without the label or pruned), so the next `devloop dev` does
 * not "clean up" objects that now belong to that deployment.
 */
export async function removeStaleSession(projectDir: string, records: readonly DeployRecord[]): Promise<void> {
  const session = await readSession(projectDir);
  if (!session || processAlive(session.pid) || records.some((r) => r.runId === session.runId)) return;
  await rm(sessionFile(projectDir), { force: true });
}

export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
