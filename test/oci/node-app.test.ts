import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerAvailable, freePort, registryBinaryAvailable, servicesRequired, testRegistry } from '../support/services.js';
import { startRegistryProxy, type RegistryProxy } from '../support/registry-proxy.js';
import { buildOci, dockerRemoveImages, dockerRun, makeNodeRootfs, ociArtifact, tempDir } from '../support/oci-fixtures.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { ArtifactConfig } from '../../src/config/types.js';

// Fresh repositories per run: a long-lived registry (DEVLOOP_TEST_REGISTRY) keeps earlier runs' blobs, and the
// assertions count uploads and mounts.
const repos = `oci-test-${Date.now().toString(36)}`;

const canRun = servicesRequired || (registryBinaryAvailable() && (await dockerAvailable()));

describe.skipIf(!canRun)('oci builder: a Node app on a locally made base image', () => {
  let proxy: RegistryProxy;
  let baseProject: Awaited<ReturnType<typeof tempDir>>;
  let app: Awaited<ReturnType<typeof tempDir>>;
  let baseRef: string;
  let baseLayerDigest: string;
  const pulled: string[] = [];

  beforeAll(async () => {
    // Everything goes through the counting proxy; base and app share one registry, so mounts apply.
    proxy = await startRegistryProxy(await testRegistry());
    baseProject = await tempDir('oci-node-base');
    app = await tempDir('oci-node-app');
    await makeNodeRootfs(join(baseProject.dir, 'rootfs'));
    baseRef = `${proxy.host}/${repos}/node-base:1`;
    const base = ociArtifact('node-base', baseProject.dir, {
      layers: [{ from: 'rootfs', to: '/' }],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    });
    await buildOci(base, baseProject.dir, `${proxy.host}/${repos}/node-base`, '1');
    const manifest = await RegistryClient.forRepository(baseRef, { insecureRegistries: [] }).getManifest('1');
    baseLayerDigest = (JSON.parse(manifest.bytes.toString()) as { layers: { digest: string }[] }).layers[0]!.digest;

    await mkdir(join(app.dir, 'deps'), { recursive: true });
    await mkdir(join(app.dir, 'src'), { recursive: true });
    await writeFile(join(app.dir, 'deps', 'greet.js'), 'module.exports = (who) => `hello ${who} from node ${process.version}`;\n');
    await writeFile(join(app.dir, 'src', 'main.js'), "console.log(require('/app/deps/greet.js')(process.env.WHO));\n");
    await writeFile(join(app.dir, 'src', 'notes.txt'), 'not copied: the glob takes *.js only\n');
  }, 180_000);

  afterAll(async () => {
    await dockerRemoveImages(pulled);
    await proxy?.close();
    await baseProject?.cleanup();
    await app?.cleanup();
  });

  const artifact = (): ArtifactConfig =>
    ociArtifact('node-app', app.dir, {
      from: baseRef,
      layers: [
        { from: 'deps', to: '/app/deps' },
        { from: 'src/*.js', to: '/app' },
      ],
      entrypoint: ['node', '/app/main.js'],
      env: { WHO: 'devloop' },
      workdir: '/app',
      ports: [8080],
    });

  it('builds on the base by descriptor (mounted, never downloaded), pushes, and docker runs it', async () => {
    proxy.reset();
    const repo = `${proxy.host}/${repos}/node-app`;
    const { digest } = await buildOci(artifact(), app.dir, repo, 'dev');
    const mounts = proxy.requests.filter((r) => r.method === 'POST' && r.query.get('mount') === baseLayerDigest);
    expect(mounts).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${baseLayerDigest}`))).toHaveLength(0);
    expect(proxy.uploadedDigests()).not.toContain(baseLayerDigest);

    const ref = `${repo}@${digest}`;
    pulled.push(ref);
    expect((await dockerRun(ref)).trim()).toBe(`hello devloop from node ${process.version}`);
  });

  it('changing one app file re-uploads exactly one layer (plus the new config)', async () => {
    const repo = `${proxy.host}/${repos}/node-app`;
    await buildOci(artifact(), app.dir, repo, 'dev');
    await writeFile(join(app.dir, 'src', 'main.js'), "console.log('changed: ' + require('/app/deps/greet.js')(process.env.WHO));\n");
    proxy.reset();
    const { digest, events } = await buildOci(artifact(), app.dir, repo, 'dev');
    const uploads = proxy.uploadedDigests();
    expect(uploads).toHaveLength(2); // the src layer and the image config
    const layerMessages = events.flatMap((e) => (e.type === 'progress' && e.stage === 'build' ? [e.message] : []));
    expect(layerMessages[0]).toContain('unchanged');
    expect(layerMessages[1]).toContain('built');

    const ref = `${repo}@${digest}`;
    pulled.push(ref);
    expect((await dockerRun(ref)).trim()).toBe(`changed: hello devloop from node ${process.version}`);
  });

  it('retries a blob after a 500 and after a dropped connection, and refuses a wrong digest', async () => {
    const repo = `${proxy.host}/${repos}/node-app`;
    await writeFile(join(app.dir, 'src', 'main.js'), "console.log('retried');\n");
    proxy.reset();
    const isBlobPut = (r: { method: string; path: string }) => r.method === 'PUT' && r.path.includes('/blobs/uploads/');
    proxy.injectFault(isBlobPut, 'status-500', 1);
    proxy.injectFault(isBlobPut, 'reset', 1);
    const { digest } = await buildOci(artifact(), app.dir, repo, 'retry');
    expect(digest).toMatch(/^sha256:/);
    expect(proxy.requests.filter(isBlobPut).length).toBe(4); // 2 blobs, 2 injected failures

    await writeFile(join(app.dir, 'src', 'main.js'), "console.log('lied to');\n");
    proxy.reset();
    proxy.injectFault((r) => r.method === 'PUT' && r.path.includes('/manifests/'), 'bad-digest', 10);
    await expect(buildOci(artifact(), app.dir, repo, 'lie')).rejects.toMatchObject({ code: 'REGISTRY_DIGEST_MISMATCH' });
  });

  it('a base on a registry that is down: BASE_IMAGE_UNREACHABLE naming that host and oci.from, not the push registry', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const unreachable = { ...artifact(), oci: { ...artifact().oci!, from: `${down}/oci-test/base:1` } };
    const error = await buildOci(unreachable, app.dir, `${proxy.host}/${repos}/node-app`, 'down').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BASE_IMAGE_UNREACHABLE', stage: 'build', message: expect.stringMatching(new RegExp(`^cannot pull base image ${down}/oci-test/base:1 \\(oci\\.from\\): cannot reach registry ${down} \\(ECONNREFUSED\\)`)) });
    expect((error as Error).message).not.toContain(proxy.host);
  });

  it('names a missing base image', async () => {
    const missing = { ...artifact(), oci: { ...artifact().oci!, from: `${proxy.host}/oci-test/no-such-base:3` } };
    await expect(buildOci(missing, app.dir, `${proxy.host}/${repos}/node-app`, 'x')).rejects.toMatchObject({
      code: 'OCI_BASE_NOT_FOUND',
      message: expect.stringContaining(`${proxy.host}/oci-test/no-such-base:3`),
    });
  });
});
