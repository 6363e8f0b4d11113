import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deleteScope, forgetRecords, pruneScope, readRecords, recordDeployment, stateFile } from '../../src/deploy/record.js';
import { removeTemps, tempDir } from '../support/tmp.js';

afterEach(removeTemps);

const svc = (namespace: string | undefined, name: string) => ({ apiVersion: 'v1', kind: 'Service', ...(namespace ? { namespace } : {}), name });
const role = (name: string) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name });

describe('state.json records', () => {
  it('keeps one record per target, accumulating kinds and namespaces only within a target', async () => {
    const dir = await tempDir('devloop-record-');
    expect(await readRecords(dir)).toEqual([]);
    const a = { configName: 'demo', kubeContext: 'fake', namespace: 'a' };
    const b = { ...a, namespace: 'b' };
    await recordDeployment(dir, { ...a, phase: 'deployed', objects: [svc('a', 'web'), svc('shared', 'db'), role('r')] });
    await recordDeployment(dir, { ...b, phase: 'deployed', objects: [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'b', name: 'web' }] });
    const records = await readRecords(dir);
    expect(records.map((r) => r.namespace)).toEqual(['a', 'b']);
    expect(records[0]!.namespaces).toEqual(['a', 'shared']);
    expect(records[1]!.kinds.map((k) => k.kind)).toEqual(['Deployment']);

    // Prune for b looks only in b's namespaces and spares what a lists (shared namespace, cluster-scoped).
    const scope = pruneScope(records, b, [svc('b', 'web')]);
    expect(scope.namespaces).toEqual(['b']);
    expect([...scope.keep]).toContain('/Service/shared/db');
    expect([...scope.keep]).toContain('rbac.authorization.k8s.io/ClusterRole//r');
    // Delete of a: a's namespaces only; b's objects are kept.
    const del = deleteScope(records, a);
    expect(del.namespaces).toEqual(['a', 'shared']);
    expect([...del.keep]).toEqual(['apps/Deployment/b/web']);

    await forgetRecords(dir, (r) => r.namespace === 'a');
    expect((await readRecords(dir)).map((r) => r.namespace)).toEqual(['b']);
    await forgetRecords(dir, () => true);
    expect(existsSync(stateFile(dir))).toBe(false);
  });

  it('reads a version 1 file as one record and treats a corrupt file as absent', async () => {
    const dir = await tempDir('devloop-record-');
    await mkdir(join(dir, '.devloop'));
    const v1 = { version: 1, configName: 'demo', kubeContext: 'fake', namespace: 'a', updatedAt: 'x', phase: 'deployed', objects: [svc('a', 'web')], kinds: [], namespaces: ['a'] };
    await writeFile(stateFile(dir), JSON.stringify(v1));
    expect(await readRecords(dir)).toMatchObject([{ configName: 'demo', namespace: 'a', objects: [svc('a', 'web')] }]);
    await writeFile(stateFile(dir), '{not json');
    expect(await readRecords(dir)).toEqual([]);
  });
});
