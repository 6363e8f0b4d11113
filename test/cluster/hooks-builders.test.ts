/**
 * Lifecycle hooks, the custom builder and the target platform from the CLI against a real cluster
 * (DEVLOOP_TEST_KUBECONFIG), each in a fresh namespace deleted after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devloop, killAll, stackLines, startDevloop, type CliEvent } from '../e2e/support.js';
import { clusterPresent, openCluster, shellApp, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();

/** Adds `text` (indented YAML) under the `web` artifact of a shell app's devloop.yaml. */
async function addToArtifact(app: ShellApp, text: string): Promise<void> {
  const file = join(app.dir, 'devloop.yaml');
  const config = await readFile(file, 'utf8');
  await writeFile(file, config.replace('      sync:\n', `${text}      sync:\n`));
}

const hookLogs = (events: CliEvent[], hook: string): string[] => events.flatMap((e) => (e.type === 'log' && e.hook === hook ? [String(e.line)] : []));
const hookStages = (events: CliEvent[]): string[] => events.flatMap((e) => (e.type === 'stage' && e.stage === 'hook' ? [`${String(e.hook)}:${String(e.status)}`] : []));

describe.skipIf(!present)('lifecycle hooks on a real cluster', () => {
  let cluster: Cluster;
  let app: ShellApp;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await openCluster('hooks');
    app = await shellApp('hooks', {
      extraConfig: `  hooks:
    before:
      - {name: check-tools, command: [sh, -c, 'echo deploying $DEVLOOP_IMAGES to $DEVLOOP_KUBE_CONTEXT/$DEVLOOP_NAMESPACE > deploy-env.txt']}
    after:
      - {name: migrate, runIn: containers, artifact: web, command: 'cat /www/generated.txt; echo migrated > /tmp/migrated'}
      - {name: optional, command: 'exit 4', nonFatal: true}
`,
    });
    await addToArtifact(
      app,
      `      hooks:
        build:
          before:
            # Same sources, same bytes: a generated file is an input, and dev would rebuild for a changed one.
            - {name: codegen, command: 'echo "generated for $DEVLOOP_IMAGE_REPO" > www/generated.txt.new; cmp -s www/generated.txt.new www/generated.txt || mv www/generated.txt.new www/generated.txt; rm -f www/generated.txt.new'}
          after:
            - {name: report, command: ['sh', '-c', 'echo built $DEVLOOP_IMAGE_REF']}
        sync:
          after:
            - {name: clear-cache, runIn: containers, command: 'ls /www/public > /tmp/cache-cleared'}
`,
    );
    env = { ...cluster.env, ...app.env };
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('run: before-build generates a file the image contains, deploy hooks see the images and context, a container hook runs in the pod, a non-fatal after hook only warns', async () => {
    const result = await devloop(app.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 240_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(stackLines(result.stdout + result.stderr)).toEqual([]);
    const ref = String(result.events.find((e) => e.type === 'artifact')?.tag);
    expect(hookStages(result.events)).toEqual([
      'codegen:start', 'codegen:end', 'report:start', 'report:end',
      'check-tools:start', 'check-tools:end', 'migrate:start', 'migrate:end', 'optional:start', 'optional:error',
    ]);
    expect(hookLogs(result.events, 'report')).toEqual([`built ${ref}`]);
    expect(await readFile(join(app.dir, 'deploy-env.txt'), 'utf8')).toMatch(new RegExp(`^deploying web=${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} to .+/${cluster.namespace}\\n$`));
    // The container hook printed the file the before-build hook generated into the image.
    const [migrated] = hookLogs(result.events, 'migrate');
    expect(migrated).toMatch(/^\[web-[a-z0-9-]+\/web\] generated for 127\.0\.0\.1:5000\/.+\/web$/);
    expect(result.events.find((e) => e.type === 'notice' && String(e.message).includes('"optional"'))).toMatchObject({ level: 'warn', message: 'hook "optional" failed with exit code 4 (non-fatal hook: going on)' });
  }, 300_000);

  it('a failing before-deploy hook stops before anything is applied: exit 1, one line naming the hook', async () => {
    const file = join(app.dir, 'devloop.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace("command: [sh, -c, 'echo deploying", "command: [sh, -c, 'echo no database >&2; exit 2; echo deploying"));
    try {
      await cluster.apps.deleteNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
      const result = await devloop(app.dir, ['run', '-n', cluster.namespace], env, 240_000);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('error: hook "check-tools" failed with exit code 2: no database');
      expect(stackLines(result.stderr)).toEqual([]);
      const deployments = await cluster.apps.listNamespacedDeployment({ namespace: cluster.namespace });
      expect(deployments.items.filter((d) => !d.metadata?.deletionTimestamp).map((d) => d.metadata?.name)).toEqual([]);
    } finally {
      await writeFile(file, original);
    }
  }, 300_000);

  it('a hook that outlives its timeout fails the run with HOOK_TIMEOUT', async () => {
    const file = join(app.dir, 'devloop.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('{name: optional, command: \'exit 4\', nonFatal: true}', '{name: slow, command: \'sleep 60\', timeout: 1s}'));
    try {
      const result = await devloop(app.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 240_000);
      expect(result.exitCode).toBe(1);
      const error = result.events.find((e) => e.type === 'error');
      expect(error).toMatchObject({ code: 'HOOK_TIMEOUT', message: 'hook "slow" timed out after 1s (stopped): sleep 60' });
    } finally {
      await writeFile(file, original);
    }
  }, 300_000);

  it('dev: a synced file runs the after-sync hook in the running container', async () => {
    const dev = startDevloop(app.dir, ['dev', '-n', cluster.namespace, '-o', 'json', '--debounce', '150'], env);
    await dev.waitFor((e) => e.type === 'iteration' && e.status === 'ok' && e.n === 1, 240_000);
    const from = dev.events.length;
    await writeFile(join(app.dir, 'web', 'www', 'public', 'new.txt'), 'new\n');
    const start = await dev.waitFor((e) => e.type === 'iteration' && e.status === 'start' && Array.isArray(e.changed) && e.changed.some((f) => String(f).endsWith('new.txt')), 60_000, from);
    const done = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start' && e.n === start.n, 60_000, from);
    expect(done.status, JSON.stringify(dev.events.slice(from))).toBe('ok');
    const second = dev.events.slice(dev.events.indexOf(start), dev.events.indexOf(done) + 1);
    expect(second.some((e) => e.type === 'stage' && e.stage === 'sync' && e.status === 'end')).toBe(true);
    expect(hookStages(second)).toEqual(['clear-cache:start', 'clear-cache:end']);
    const pods = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: 'app=web' });
    const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)!;
    const { createKubeClient } = await import('../../src/kube/client.js');
    const { execInContainer } = await import('../../src/sync/exec.js');
    process.env.KUBECONFIG = cluster.env.KUBECONFIG;
    const kube = await createKubeClient({ namespace: cluster.namespace });
    const cat = await execInContainer(kube, { namespace: cluster.namespace, pod: pod.metadata!.name!, container: 'web' }, ['cat', '/tmp/cache-cleared']);
    expect(cat.stdout.split('\n')).toContain('new.txt');
    await dev.signal('SIGINT', 60_000);
  }, 400_000);
});
