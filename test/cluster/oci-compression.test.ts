/**
 * Uncompressed layers on a real cluster (issue 11): with `oci.compression: auto` a loopback registry gets
 * plain tar layers (application/vnd.oci.image.layer.v1.tar in an OCI manifest, the Docker family's
 * application/vnd.docker.image.rootfs.diff.tar on a Docker base), and containerd pulls and runs both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { devloop, tempDir } from '../e2e/support.js';
import { busyboxBaseImage, testRegistry } from '../support/services.js';
import { RegistryClient } from '../../src/registry/client.js';
import { clusterPresent, isReady, livePods, openCluster, type Cluster } from './support.js';

const present = await clusterPresent();

interface Manifest {
  mediaType: string;
  layers: { mediaType: string; digest: string }[];
}

describe.skipIf(!present)('oci builder: uncompressed layers on a real cluster', () => {
  let cluster: Cluster;
  let project: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await openCluster('ocicomp');
    const registry = await testRegistry();
    const base = await busyboxBaseImage(registry); // made by `docker import`: a Docker v2 manifest
    project = await tempDir('devloop-cluster-ocicomp-');
    const dir = project.dir;
    // `scratch`: an OCI manifest whose only layer is a static busybox serving www/.
    await mkdir(join(dir, 'scratch', 'rootfs', 'bin'), { recursive: true });
    await copyFile('/bin/busybox', join(dir, 'scratch', 'rootfs', 'bin', 'busybox'));
    await symlink('busybox', join(dir, 'scratch', 'rootfs', 'bin', 'httpd'));
    await mkdir(join(dir, 'scratch', 'www'), { recursive: true });
    await writeFile(join(dir, 'scratch', 'www', 'index.html'), 'scratch image\n');
    await mkdir(join(dir, 'based', 'www'), { recursive: true });
    await writeFile(join(dir, 'based', 'www', 'index.html'), 'docker-family image\n');
    await mkdir(join(dir, 'k8s'));
    const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: ${name}
          readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
`;
    await writeFile(join(dir, 'k8s', 'apps.yaml'), `${deployment('scratch')}---\n${deployment('based')}`);
    await writeFile(
      join(dir, 'devloop.yaml'),
      `apiVersion: devloop/v1
kind: Config
metadata: {name: ocicomp}
build:
  push: true
  artifacts:
    - image: scratch
      context: scratch
      oci:
        from: scratch
        layers: [{from: rootfs, to: /}, {from: www, to: /www}]
        entrypoint: [/bin/busybox, httpd, -f, -p, "8080", -h, /www]
    - image: based
      context: based
      oci:
        from: ${base}
        layers: [{from: www, to: /www}]
        entrypoint: [httpd, -f, -p, "8080", -h, /www]
manifests: ["k8s/*.yaml"]
deploy:
  statusCheck: {timeout: 90s}
`,
    );
    env = { ...cluster.env, DEVLOOP_DEFAULT_REPO: `${registry}/devloop-cluster-ocicomp-${randomBytes(3).toString('hex')}` };
  }, 120_000);
  afterAll(async () => {
    await cluster?.dispose();
    await project?.remove();
  });

  it('pushes plain tar layers to the loopback registry, and the cluster pulls and runs both images', async () => {
    const result = await devloop(project.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 240_000);
    expect(result.exitCode, result.stdout.slice(-2000) + result.stderr).toBe(0);
    const refs = Object.fromEntries(result.events.filter((e) => e.type === 'artifact').map((e) => [String(e.image), String(e.tag)]));

    const manifestOf = async (ref: string): Promise<Manifest> => {
      const [repoTag, digest] = ref.split('@');
      const client = RegistryClient.forRepository(repoTag!, { insecureRegistries: [] });
      return JSON.parse((await client.getManifest(digest!)).bytes.toString('utf8')) as Manifest;
    };
    const scratch = await manifestOf(refs.scratch!);
    expect(scratch.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(scratch.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar']);
    const based = await manifestOf(refs.based!);
    expect(based.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    // The base's own layer keeps its gzip type; devloop's layer is the Docker family's plain tar.
    expect(based.layers.map((l) => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar']);

    for (const app of ['scratch', 'based']) {
      const pods = await livePods(cluster, app);
      expect(pods.length, app).toBe(1);
      expect(isReady(pods[0]!), app).toBe(true); // its readiness probe got /index.html from the unpacked layer
      expect(pods[0]!.status?.containerStatuses?.[0]?.imageID, app).toContain(refs[app]!.split('@')[1]);
    }
  }, 300_000);
});
