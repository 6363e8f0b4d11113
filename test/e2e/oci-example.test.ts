/**
 * The daemonless example (examples/hello-oci, its own devloop.yaml) through the CLI: `devloop build`
 * pushes it without Docker, a second build is a full cache hit, and `devloop run` deploys the built
 * `@sha256:` reference to the fake API server. Needs a registry and `go` (no dockerd).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { testRegistry } from '../support/services.js';
import { copyFromRepo, devloop, killAll, servicesPresent, tempDir, type CliEvent } from './support.js';

const haveServices = await servicesPresent({ docker: false });

const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** GETs a manifest by digest from the (loopback) registry: status, digest header, parsed body. */
async function fetchManifest(ref: string): Promise<{ status: number; digest: string | null; body: { mediaType?: string; layers?: unknown[] } | undefined }> {
  const [name, digest] = ref.split('@') as [string, string];
  const repo = name.replace(/:[^:/]+$/, '');
  const slash = repo.indexOf('/');
  const response = await fetch(`http://${repo.slice(0, slash)}/v2/${repo.slice(slash + 1)}/manifests/${digest}`, { headers: { accept: MANIFEST_TYPES } });
  const body = response.ok ? ((await response.json()) as { mediaType?: string; layers?: unknown[] }) : undefined;
  return { status: response.status, digest: response.headers.get('docker-content-digest'), body };
}

const startedStages = (events: CliEvent[]): string[] =>
  events.filter((e) => e.type === 'stage' && e.status === 'start').map((e) => `${String(e.stage)} ${String(e.artifact ?? '')}`.trim());

describe.skipIf(!haveServices)('examples/hello-oci through the CLI (registry + fake cluster, no Docker)', () => {
  let fake: FakeKube;
  let project: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;
  let repo: string;

  beforeAll(async () => {
    const registry = await testRegistry();
    repo = `${registry}/e2e-oci-${randomBytes(3).toString('hex')}`;
    project = await tempDir('devloop-e2e-oci-');
    await copyFromRepo('examples/hello-oci', project.dir);
    fake = await startFakeKube();
    env = { KUBECONFIG: fake.kubeconfigPath, DEVLOOP_DEFAULT_REPO: repo };
  });
  afterAll(async () => {
    await killAll();
    await fake?.stop();
    await project?.remove();
  });

  it('build pushes an @sha256 reference the registry serves; a second build is a full cache hit; run deploys that reference', async () => {
    const first = await devloop(project.dir, ['build', '--output', 'json', '--file-output', 'tags.json'], env, 120_000);
    expect(first.exitCode, first.stdout.slice(-3000) + first.stderr).toBe(0);
    expect(startedStages(first.events)).toEqual(['compile hello-oci', 'build hello-oci', 'push hello-oci']);
    const artifacts = first.events.filter((e) => e.type === 'artifact');
    expect(artifacts).toHaveLength(1);
    const built = artifacts[0]!;
    expect(built).toMatchObject({ image: 'hello-oci', cached: false });
    const tag = String(built.tag);
    expect(tag).toMatch(new RegExp(`^${repo}/hello-oci:[0-9a-f]{16}@sha256:[0-9a-f]{64}$`));

    // The registry serves exactly that manifest: OCI (scratch base), two layers (binary, public/).
    const manifest = await fetchManifest(tag);
    expect(manifest.status).toBe(200);
    expect(manifest.digest).toBe(tag.split('@')[1]);
    expect(manifest.body?.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.body?.layers).toHaveLength(2);
    expect(JSON.parse(await readFile(join(project.dir, 'tags.json'), 'utf8'))).toEqual({ builds: [{ image: 'hello-oci', tag }] });

    // Nothing changed: no compile, no build, no push — not even a start.
    const again = await devloop(project.dir, ['build', '--output', 'json'], env, 120_000);
    expect(again.exitCode, again.stdout.slice(-3000) + again.stderr).toBe(0);
    expect(startedStages(again.events)).toEqual([]);
    expect(again.events.filter((e) => e.type === 'stage').map((e) => `${String(e.stage)} ${String(e.status)}`)).toEqual([
      'compile skipped',
      'build skipped',
      'push skipped',
    ]);
    expect(again.events.filter((e) => e.type === 'artifact')).toEqual([expect.objectContaining({ image: 'hello-oci', tag, cached: true })]);

    // run: still cached, then render → apply → prune → status against the fake; the Deployment runs the digest.
    const run = await devloop(project.dir, ['run', '--output', 'json', '--status-check-timeout', '60s'], env, 120_000);
    expect(run.exitCode, run.stdout.slice(-3000) + run.stderr).toBe(0);
    expect(startedStages(run.events).filter((s) => /^(compile|build|push) /.test(s))).toEqual([]);
    expect(run.events.at(-1)).toMatchObject({ type: 'iteration', n: 1, status: 'ok' });
    const deployment = fake.objects.get('apps/v1', 'Deployment', 'default', 'hello-oci') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(tag);
    expect(deployment.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'devloop', 'devloop.dev/config': 'hello-oci' });
    // The fake's kubelet "pulled" it from the registry by digest: the pod runs with that imageID.
    const pods = fake.objects.list('Pod', 'default').filter((p) => p.metadata.name?.startsWith('hello-oci-'));
    expect(pods.length).toBeGreaterThan(0);
    const statuses = (pods[0]!.status as { containerStatuses?: { ready: boolean; imageID: string }[] }).containerStatuses ?? [];
    expect(statuses[0]).toMatchObject({ ready: true, imageID: tag.replace(/:[0-9a-f]{16}@/, '@') });
  }, 240_000);
});
