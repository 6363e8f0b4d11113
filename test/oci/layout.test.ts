import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listArtifactInputs } from '../../src/inputs/index.js';
import { buildOci, ociArtifact, tempDir } from '../support/oci-fixtures.js';

let temp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  temp = await tempDir('oci-layout');
  await mkdir(join(temp.dir, 'www'), { recursive: true });
  await writeFile(join(temp.dir, 'www', 'index.html'), '<h1>hi</h1>\n');
});
afterEach(async () => temp.cleanup());

describe('oci builder without push', () => {
  it('writes an OCI image layout under .devloop/oci and contacts no registry', async () => {
    // A registry host that would fail if contacted.
    const artifact = ociArtifact('site', temp.dir, { layers: [{ from: 'www', to: '/srv/www' }], cmd: ['/srv/www'] });
    const { digest, events } = await buildOci(artifact, temp.dir, '127.0.0.1:1/site', 'dev', false);
    expect(digest).toBeUndefined();
    const store = join(temp.dir, '.devloop', 'oci');
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]!.annotations['org.opencontainers.image.ref.name']).toBe('127.0.0.1:1/site:dev');
    const manifest = JSON.parse(await readFile(join(store, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    await expect(readFile(join(store, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7)))).resolves.toBeInstanceOf(Buffer);
    expect(JSON.parse(await readFile(join(store, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(events.some((e) => e.type === 'notice' && e.message.includes(store))).toBe(true);
    expect(events.filter((e) => e.type === 'stage').map((e) => `${e.stage}:${e.status}`)).toEqual(['build:start', 'build:end']);

    // Rebuilding under the same name replaces the entry instead of adding one.
    await writeFile(join(temp.dir, 'www', 'index.html'), '<h1>changed</h1>\n');
    await buildOci(artifact, temp.dir, '127.0.0.1:1/site', 'dev', false);
    const again = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(again.manifests).toHaveLength(1);
    expect(again.manifests[0]!.digest).not.toBe(index.manifests[0]!.digest);
  });

  it('lists the input files of an oci artifact, tolerating outputs that do not exist yet', async () => {
    const artifact = ociArtifact('site', temp.dir, { layers: [{ from: 'www', to: '/srv/www' }, { from: 'bin/server', to: '/server' }] });
    expect((await listArtifactInputs(artifact)).map((f) => f.path)).toEqual(['www/index.html']);
  });
});
