import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nextDeployState, readDeployState, writeDeployState, stateFile } from '../../src/runner/state.js';

describe('state.json', () => {
  it('round-trips, accumulates kinds and namespaces, and treats a corrupt file as absent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devloop-state-'));
    try {
      expect(await readDeployState(dir)).toBeUndefined();
      const first = nextDeployState(undefined, { configName: 'demo', kubeContext: 'fake', namespace: 'default', phase: 'deployed', objects: [{ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'a' }] });
      await writeDeployState(dir, first);
      expect(await readDeployState(dir)).toEqual(first);
      const second = nextDeployState(first, { configName: 'demo', kubeContext: 'fake', namespace: 'other', phase: 'deployed', objects: [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'other', name: 'b' }] });
      expect(second.kinds.map((k) => k.kind)).toEqual(['Service', 'Deployment']);
      expect(second.namespaces).toEqual(['default', 'other']);
      const elsewhere = nextDeployState(first, { configName: 'demo', kubeContext: 'prod', namespace: 'x', phase: 'deployed', objects: [] });
      expect(elsewhere.kinds).toEqual([]);
      await mkdir(join(dir, '.devloop'), { recursive: true });
      await writeFile(stateFile(dir), '{not json');
      expect(await readDeployState(dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
