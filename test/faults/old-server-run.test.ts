/**
 * Fault: a dev session dies (kill -9), then `devloop deploy` runs against a server without
 * server-side apply (create-or-patch fallback). The merge patch must not keep the dead session's
 * run-id label, and the dead session's `.devloop/dev-session.json` must go — else the next
 * `devloop dev` would "clean up" objects that now belong to the deploy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { copyExampleProject, devloop } from '../run/support.js';
import { loadConfigForCommand } from '../../src/config/load.js';
import { createKubeClient } from '../../src/kube/client.js';
import { readBuildArtifacts } from '../../src/cli/commands/shared-deploy.js';
import { deployBuilt } from '../../src/runner/pipeline.js';
import { sessionFile, writeSession } from '../../src/runner/dev-session.js';
import { readRecords } from '../../src/deploy/record.js';
import { RUN_ID_LABEL } from '../../src/render/labels.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const TAGS = { builds: [{ image: 'hello', tag: `registry.example.com/hello:t1@${DIGEST}` }, { image: 'quote', tag: `registry.example.com/quote:t1@${DIGEST}` }] };
const DEAD = 'dead0001';

let fake: FakeKube;
let project: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  fake = await startFakeKube({ oldServer: true });
  project = await copyExampleProject();
  await writeFile(join(project.dir, 'tags.json'), JSON.stringify(TAGS));
});
afterAll(async () => {
  await fake?.stop();
  await project?.remove();
});

type Labeled = { metadata: { labels?: Record<string, string> }; spec?: { template?: { metadata?: { labels?: Record<string, string> } } } };

describe('deploy after a dead dev session, on a server without server-side apply', () => {
  it('removes the dead run id from the objects and the dead session file', async () => {
    // The dev session's deployment, as `devloop dev` makes it (run id label, record, session file).
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = fake.kubeconfigPath;
    try {
      const loaded = await loadConfigForCommand({ file: 'devloop.yaml', cwd: project.dir, profiles: [], command: 'dev', overrides: {}, env: {} });
      const kube = await createKubeClient();
      const builds = await readBuildArtifacts('tags.json', project.dir);
      await deployBuilt({ loaded, emit: () => undefined, signal: new AbortController().signal, kube, runId: DEAD }, builds);
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
    const child = execa('node', ['-e', '']);
    const deadPid = child.pid!;
    await child;
    await writeSession(project.dir, { runId: DEAD, pid: deadPid, configName: 'hello', kubeContext: 'fake', startedAt: new Date().toISOString() });
    const before = fake.objects.get('apps/v1', 'Deployment', 'default', 'hello') as unknown as Labeled;
    expect(before.metadata.labels?.[RUN_ID_LABEL]).toBe(DEAD);

    const result = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json'], { KUBECONFIG: fake.kubeconfigPath });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('does not support server-side apply');
    for (const name of ['hello', 'quote']) {
      const deployment = fake.objects.get('apps/v1', 'Deployment', 'default', name) as unknown as Labeled;
      expect(deployment.metadata.labels?.[RUN_ID_LABEL], `deployment/${name}`).toBeUndefined();
      expect(deployment.spec?.template?.metadata?.labels?.[RUN_ID_LABEL], `deployment/${name} pod template`).toBeUndefined();
      const service = fake.objects.get('v1', 'Service', 'default', name) as unknown as Labeled;
      expect(service.metadata.labels?.[RUN_ID_LABEL], `service/${name}`).toBeUndefined();
    }
    expect(existsSync(sessionFile(project.dir))).toBe(false);
    expect((await readRecords(project.dir)).map((r) => r.runId)).toEqual([undefined]);
  });
});
