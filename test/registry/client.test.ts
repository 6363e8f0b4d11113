import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, blobFromBytes, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP } from '../../src/registry/index.js';
import { registryBinaryAvailable, servicesRequired, startRegistry, type StartedRegistry } from '../support/services.js';

const settings = { insecureRegistries: [] };
const run = registryBinaryAvailable() || servicesRequired ? describe : describe.skip;

run('RegistryClient against a real registry', () => {
  let registry: StartedRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pings, uploads blobs monolithically and in chunks, puts and reads manifests', async () => {
    const client = RegistryClient.forRepository(`${registry.host}/client/hello`, settings, { chunkSize: 16 });
    await client.ping();
    expect(await client.manifestDigest('latest')).toBeUndefined();

    const layer = blobFromBytes(Buffer.from('a layer that is longer than sixteen bytes, so it goes up in PATCH chunks'));
    const config = blobFromBytes(Buffer.from('{"small":1}'));
    const sent: number[] = [];
    expect(await client.pushBlob(layer, { onProgress: (n) => sent.push(n) })).toBe('uploaded');
    expect(sent.at(-1)).toBe(layer.size);
    expect(sent.length).toBeGreaterThan(1);
    expect(await client.pushBlob(config)).toBe('uploaded');
    expect(await client.pushBlob(layer)).toBe('exists');
    expect((await client.getBlob(config.digest)).toString()).toBe('{"small":1}');

    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
        layers: [{ mediaType: OCI_LAYER_GZIP, digest: layer.digest, size: layer.size }],
      }),
    );
    const digest = await client.putManifest('v1', manifest, OCI_MANIFEST);
    expect(await client.manifestDigest('v1')).toBe(digest);
    expect(await client.manifestDigest(digest)).toBe(digest);
    const fetched = await client.getManifest('v1');
    expect(fetched.bytes.equals(manifest)).toBe(true);
    expect(fetched.mediaType).toBe(OCI_MANIFEST);

    const other = RegistryClient.forRepository(`${registry.host}/client/other`, settings);
    expect(await other.pushBlob(layer, { mountFrom: 'client/hello' })).toBe('mounted');
    expect(await other.hasBlob(layer.digest)).toBe(true);
  });

  it('names the missing image on 404', async () => {
    const client = RegistryClient.forRepository(`${registry.host}/client/missing`, settings);
    await expect(client.getManifest('1.0')).rejects.toMatchObject({
      code: 'REGISTRY_MANIFEST_UNKNOWN',
      message: expect.stringContaining(`${registry.host}/client/missing:1.0`),
    });
  });
});

describe('RegistryClient transport errors', () => {
  it('reports an unreachable registry with a bounded number of attempts', async () => {
    const client = RegistryClient.forRepository('127.0.0.1:1/x', settings, { retries: 1, retryDelayMs: 1 });
    await expect(client.ping()).rejects.toMatchObject({ code: 'REGISTRY_UNREACHABLE', message: expect.stringContaining('127.0.0.1:1') });
  });
});
