/**
 * A live update of compiled code: after the compile step, the files it wrote that an artifact's
 * `restart: true` sync rules cover (the binary, a `dist/` folder) are what is copied in. Found by
 * walking only below those rules' static bases, keeping files modified since the compile started.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { SyncCopy } from '../plan/index.js';
import { mapSyncPath, type CompiledSyncRule } from './map.js';

export async function compiledOutputs(context: string, rules: readonly CompiledSyncRule[], sinceMs: number): Promise<SyncCopy[]> {
  const restartRules = rules.filter((r) => r.rule.restart === true);
  const seen = new Set<string>();
  const copies: SyncCopy[] = [];
  const visit = async (rel: string): Promise<void> => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const abs = join(context, rel);
    const stats = await stat(abs).catch(() => undefined);
    if (!stats) return;
    if (stats.isDirectory()) {
      for (const name of (await readdir(abs)).sort()) await visit(rel === '' ? name : posix.join(rel, name));
      return;
    }
    // Only what this compile wrote (mtime has a coarse resolution on some file systems: 1 s slack).
    if (!stats.isFile() || stats.mtimeMs < sinceMs - 1000) return;
    const mapping = mapSyncPath(restartRules, rel);
    if (mapping.kind !== 'targets') return;
    for (const target of mapping.targets) copies.push({ local: abs, path: target.path, dest: target.dest });
  };
  for (const rule of restartRules) await visit(rule.base);
  return copies;
}
