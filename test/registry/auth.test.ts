import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryClient, blobFromBytes } from '../../src/registry/index.js';
import { registryBinaryAvailable, servicesRequired, startRegistry, type StartedRegistry } from '../support/services.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';
import { tempDir } from '../support/oci-fixtures.js';

const settings = { insecureRegistries: [] };
const canRun = servicesRequired || registryBinaryAvailable();
const SECRET = 's3cret-Pa55';

/** A DOCKER_CONFIG folder whose config.json holds `auths` for `host` (or nothing). */
async function dockerConfig(root: string, name: string, auths: Record<string, object>): Promise<NodeJS.ProcessEnv> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }));
  return { ...process.env, DOCKER_CONFIG: dir };
}

/** Pushes a blob and a manifest: the whole write path that needs push access. */
async function pushSomething(client: RegistryClient): Promise<string> {
  const config = blobFromBytes(Buffer.from('{"architecture":"amd64","os":"linux"}'));
  await client.pushBlob(config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size }, layers: [] }));
  return client.putManifest('v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
}

describe.skipIf(!canRun)('registry auth against real registries', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let basic: StartedRegistry;
  let tokenRegistry: StartedRegistry;
  let tokens: TokenServer;

  beforeAll(async () => {
    temp = await tempDir('registry-auth');
    const htpasswd = (await execa('htpasswd', ['-Bbn', 'alice', SECRET])).stdout;
    await writeFile(join(temp.dir, 'htpasswd'), `${htpasswd}\n`);
    basic = await startRegistry(`auth:\n  htpasswd:\n    realm: devloop-test\n    path: ${join(temp.dir, 'htpasswd')}\n`);
    tokens = await startTokenServer({ bob: SECRET });
    tokenRegistry = await startRegistry(tokens.registryConfig);
  });
  afterAll(async () => {
    await basic?.stop();
    await tokenRegistry?.stop();
    await tokens?.close();
    await temp?.cleanup();
  });

  it('htpasswd (Basic): pushes with base64 `auth` from DOCKER_CONFIG', async () => {
    const env = await dockerConfig(temp.dir, 'basic-ok', { [basic.host]: { auth: Buffer.from(`alice:${SECRET}`).toString('base64') } });
    const client = RegistryClient.forRepository(`${basic.host}/team/app`, settings, { env });
    await client.ping();
    expect(await pushSomething(client)).toMatch(/^sha256:/);
    expect(await client.manifestDigest('v1')).toMatch(/^sha256:/);
  });

  it('htpasswd (Basic): fails clearly without credentials, and with wrong ones names the source but not the secret', async () => {
    const none = await dockerConfig(temp.dir, 'basic-none', {});
    const anonymous = RegistryClient.forRepository(`${basic.host}/team/app`, settings, { env: none });
    const error = await pushSomething(anonymous).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringContaining(basic.host) });
    expect((error as Error).message).toContain('no credentials found');
    expect((error as { hint: string }).hint).toContain(`docker login ${basic.host}`);

    const wrong = await dockerConfig(temp.dir, 'basic-wrong', { [`https://${basic.host}`]: { username: 'alice', password: 'not-the-password' } });
    const refused = await RegistryClient.forRepository(`${basic.host}/team/app`, settings, { env: wrong }).ping().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'REGISTRY_AUTH' });
    expect((refused as Error).message).toContain(`auths["https://${basic.host}"]`);
    expect((refused as Error).message).not.toContain('not-the-password');
  });

  it('token (Bearer): fetches a scoped token with credentials from DOCKER_CONFIG, including pull scope for a mount source', async () => {
    const env = await dockerConfig(temp.dir, 'token-ok', { [tokenRegistry.host]: { username: 'bob', password: SECRET } });
    const client = RegistryClient.forRepository(`${tokenRegistry.host}/team/base`, settings, { env });
    await client.ping();
    expect(await pushSomething(client)).toMatch(/^sha256:/);
    expect(tokens.requests.at(-1)).toMatchObject({ authenticated: true, scopes: ['repository:team/base:pull,push'] });

    const layer = blobFromBytes(Buffer.from('a layer shared by two repositories'));
    expect(await client.pushBlob(layer)).toBe('uploaded');
    const app = RegistryClient.forRepository(`${tokenRegistry.host}/team/app`, settings, { env });
    expect(await app.pushBlob(layer, { mountFrom: 'team/base' })).toBe('mounted');
    expect(tokens.requests.at(-1)!.scopes).toEqual(['repository:team/app:pull,push', 'repository:team/base:pull']);
  });

  it('token (Bearer): fails clearly without credentials and with wrong ones', async () => {
    const none = await dockerConfig(temp.dir, 'token-none', {});
    const anonymous = await pushSomething(RegistryClient.forRepository(`${tokenRegistry.host}/team/x`, settings, { env: none })).catch((e: unknown) => e);
    expect(anonymous).toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringContaining(tokenRegistry.host) });
    expect((anonymous as Error).message).toContain('no credentials found');

    const wrong = await dockerConfig(temp.dir, 'token-wrong', { [tokenRegistry.host]: { auth: Buffer.from('bob:nope-nope').toString('base64') } });
    const refused = await RegistryClient.forRepository(`${tokenRegistry.host}/team/x`, settings, { env: wrong }).ping().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringContaining('token server 127.0.0.1') });
    expect((refused as Error).message).toContain(`auths["${tokenRegistry.host}"]`);
    expect((refused as Error).message).not.toContain('nope-nope');
  });
});
