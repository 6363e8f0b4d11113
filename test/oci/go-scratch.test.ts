import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerAvailable, registryBinaryAvailable, servicesRequired, testRegistry } from '../support/services.js';
import { buildOci, compileGoHello, dockerRemoveImages, dockerRun, goAvailable, ociArtifact, tempDir } from '../support/oci-fixtures.js';

const canRun = servicesRequired || (registryBinaryAvailable() && (await dockerAvailable()) && (await goAvailable()));

describe.skipIf(!canRun)('oci builder: a Go static binary on scratch', () => {
  let registry: string;
  let project: Awaited<ReturnType<typeof tempDir>>;
  let copy: Awaited<ReturnType<typeof tempDir>>;
  const pulled: string[] = [];

  beforeAll(async () => {
    registry = await testRegistry();
    project = await tempDir('oci-go');
    copy = await tempDir('oci-go-copy');
    await compileGoHello(project.dir, 'hello from a daemonless Go image');
  });
  afterAll(async () => {
    await dockerRemoveImages(pulled);
    await project?.cleanup();
    await copy?.cleanup();
  });

  it('builds without dockerd, pushes, and docker runs it; rebuilds and a second copy give the same digest', async () => {
    const repo = `${registry}/oci-test/go-hello`;
    const artifact = (dir: string) =>
      ociArtifact('go-hello', dir, { from: 'scratch', layers: [{ from: 'bin/hello', to: '/hello' }], entrypoint: ['/hello'], labels: { app: 'go-hello' } });

    const first = await buildOci(artifact(project.dir), project.dir, repo, 'v1');
    expect(first.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const stages = first.events.filter((e) => e.type === 'stage').map((e) => `${e.stage}:${e.status}`);
    expect(stages).toEqual(['build:start', 'build:end', 'push:start', 'push:end']);

    const ref = `${repo}@${first.digest}`;
    pulled.push(ref);
    expect((await dockerRun(ref)).trim()).toBe('hello from a daemonless Go image');

    const again = await buildOci(artifact(project.dir), project.dir, repo, 'v1');
    expect(again.digest).toBe(first.digest);
    expect(again.events.some((e) => e.type === 'progress' && e.message.includes('unchanged'))).toBe(true);

    await cp(join(project.dir, 'bin'), join(copy.dir, 'bin'), { recursive: true });
    const fromCopy = await buildOci(artifact(copy.dir), copy.dir, repo, 'v2');
    expect(fromCopy.digest).toBe(first.digest);
  });
});
