/**
 * What a live update learns about a built image from the registry: its command (Entrypoint/Cmd) and
 * whether some layer gives it /bin/sh (the top layer that says anything wins; a whiteout removes
 * it). Layer verdicts are kept per digest in .devloop/live-update/layers.json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RegistryClient, blobFromBytes, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP } from '../../src/registry/index.js';
import { inspectImageProcess } from '../../src/sync/image-process.js';
import { tarHeader, tarTrailer } from '../../src/build/oci/tar.js';
import type { BuildResult } from '../../src/build/types.js';
import { registryBinaryAvailable, servicesRequired, startRegistry, type StartedRegistry } from '../support/services.js';
import { removeTemps, tempTree } from '../support/tmp.js';

const settings = { insecureRegistries: [] };
const run = registryBinaryAvailable() || servicesRequired ? describe : describe.skip;

const layer = (...paths: string[]): Buffer =>
  gzipSync(Buffer.concat([...paths.map((path) => tarHeader({ path, type: 'file', mode: 0o755, size: 0 }, 0)), tarTrailer()]));

run('the command and shell of a pushed image', () => {
  let registry: StartedRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    await removeTemps();
  });

  /** Pushes an image of these layers (bottom first) and config; returns its BuildResult. */
  async function push(tag: string, layers: Buffer[], config: Record<string, unknown>): Promise<BuildResult> {
    const repo = `${registry.host}/live/app`;
    const client = RegistryClient.forRepository(repo, settings);
    const blobs = layers.map((l) => blobFromBytes(l));
    const configBlob = blobFromBytes(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config })));
    for (const blob of [...blobs, configBlob]) await client.pushBlob(blob);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: configBlob.digest, size: configBlob.size },
        layers: blobs.map((b) => ({ mediaType: OCI_LAYER_GZIP, digest: b.digest, size: b.size })),
      }),
    );
    const digest = await client.putManifest(tag, manifest, OCI_MANIFEST);
    return { image: 'app', repo, tag, digest, ref: `${repo}:${tag}@${digest}`, cached: false };
  }

  it('a busybox-like base: the command, and a shell', async () => {
    const project = await tempTree('devloop-image-process-');
    const base = layer('bin/busybox', 'bin/sh');
    const build = await push('shell', [base, layer('app/app')], { Entrypoint: ['/app/app'], Cmd: ['--port', '8080'] });
    expect(await inspectImageProcess(build, settings, project)).toEqual({ ok: true, entrypoint: ['/app/app'], cmd: ['--port', '8080'] });
    // Both layers were read once and remembered.
    expect(Object.values(JSON.parse(await readFile(join(project, '.devloop', 'live-update', 'layers.json'), 'utf8')))).toEqual(['none', 'sh']);
  });

  it('scratch (no layer has /bin/sh), a whiteout of it, and an image without a command cannot be supervised', async () => {
    const project = await tempTree('devloop-image-process-');
    const scratch = await push('scratch', [layer('app')], { Entrypoint: ['/app'] });
    expect(await inspectImageProcess(scratch, settings, project)).toEqual({ ok: false, reason: expect.stringContaining('no /bin/sh') });
    const removed = await push('removed', [layer('bin/sh'), layer('bin/.wh.sh')], { Entrypoint: ['/app'] });
    expect(await inspectImageProcess(removed, settings, project)).toMatchObject({ ok: false, reason: expect.stringContaining('no /bin/sh') });
    const noCommand = await push('nocmd', [layer('bin/sh')], {});
    expect(await inspectImageProcess(noCommand, settings, project)).toMatchObject({ ok: false, reason: expect.stringContaining('names no command') });
    // Loaded into a local cluster without a registry: no config to read.
    expect(await inspectImageProcess({ ...scratch, digest: undefined }, settings, project)).toMatchObject({ ok: false, reason: expect.stringContaining('without a registry') });
  });
});
