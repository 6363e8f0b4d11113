import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { lookupCredential } from '../../src/registry/credentials.js';
import { parseChallenge } from '../../src/registry/challenge.js';
import { parseImageReference, registryBaseUrl } from '../../src/registry/reference.js';
import { tempDir } from '../support/oci-fixtures.js';

let temp: Awaited<ReturnType<typeof tempDir>>;
let bin: string;
beforeAll(async () => {
  temp = await tempDir('registry-creds');
  bin = join(temp.dir, 'bin');
  await mkdir(bin);
  // A credential helper speaking the docker-credential protocol: server URL on stdin, JSON out.
  await writeFile(
    join(bin, 'docker-credential-fake'),
    '#!/bin/sh\nread server\ncase "$server" in\n  reg.example:5000) echo \'{"ServerURL":"reg.example:5000","Username":"carol","Secret":"helper-secret"}\' ;;\n  tok.example) echo \'{"Username":"<token>","Secret":"refresh-me"}\' ;;\n  *) echo "credentials not found in native keychain" ; exit 1 ;;\nesac\n',
  );
  await chmod(join(bin, 'docker-credential-fake'), 0o755);
});
afterAll(async () => temp.cleanup());

async function envWith(config: object): Promise<NodeJS.ProcessEnv> {
  const dir = join(temp.dir, `cfg-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return { ...process.env, DOCKER_CONFIG: dir, PATH: `${bin}${delimiter}${process.env.PATH}` };
}

describe('lookupCredential', () => {
  it('reads auths: base64 auth, username/password, identitytoken, keys with scheme and path', async () => {
    const env = await envWith({
      auths: {
        'a.example': { auth: Buffer.from('u:p:with:colons').toString('base64') },
        'https://b.example/v1/': { username: 'bu', password: 'bp' },
        'c.example': { identitytoken: 'idtok' },
      },
    });
    expect((await lookupCredential('a.example', env)).credential).toMatchObject({ username: 'u', password: 'p:with:colons' });
    expect((await lookupCredential('b.example', env)).credential).toMatchObject({ username: 'bu', password: 'bp', source: expect.stringContaining('auths["https://b.example/v1/"]') });
    expect((await lookupCredential('c.example', env)).credential).toMatchObject({ identityToken: 'idtok' });
    expect((await lookupCredential('d.example', env)).credential).toBeUndefined();
  });

  it('asks credHelpers / credsStore programs, treating "not found" as no credentials', async () => {
    const env = await envWith({ credHelpers: { 'reg.example:5000': 'fake' }, credsStore: 'fake', auths: { 'tok.example': {} } });
    const helper = await lookupCredential('reg.example:5000', env);
    expect(helper.credential).toMatchObject({ username: 'carol', password: 'helper-secret', source: expect.stringContaining('docker-credential-fake') });
    expect(helper.credential!.source).not.toContain('helper-secret');
    expect((await lookupCredential('tok.example', env)).credential).toMatchObject({ identityToken: 'refresh-me' });
    expect((await lookupCredential('other.example', env)).credential).toBeUndefined();
  });

  it('reports a missing helper named in credHelpers, and a missing config file as searched', async () => {
    const env = await envWith({ credHelpers: { 'x.example': 'absent-helper' } });
    await expect(lookupCredential('x.example', env)).rejects.toMatchObject({ code: 'CREDENTIAL_HELPER', message: expect.stringContaining('docker-credential-absent-helper') });
    const none = await lookupCredential('x.example', { DOCKER_CONFIG: join(temp.dir, 'nowhere') });
    expect(none).toEqual({ searched: `${join(temp.dir, 'nowhere', 'config.json')} (absent)` });
  });
});

describe('references and challenges', () => {
  it('parses references the way docker does', () => {
    expect(parseImageReference('127.0.0.1:5000/team/app:1.2')).toEqual({ registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.2', digest: undefined });
    expect(parseImageReference('busybox')).toMatchObject({ registry: 'registry-1.docker.io', repository: 'library/busybox', tag: 'latest' });
    const digest = `sha256:${'e'.repeat(64)}`;
    expect(parseImageReference(`localhost/x@${digest}`)).toMatchObject({ registry: 'localhost', repository: 'x', tag: undefined, digest });
    expect(() => parseImageReference('127.0.0.1:5000/Bad')).toThrow(/invalid repository/);
  });

  it('uses plain HTTP only for loopback and insecure registries', () => {
    expect(registryBaseUrl('127.0.0.1:5000', [])).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('localhost:5000', [])).toBe('http://localhost:5000');
    expect(registryBaseUrl('[::1]:5000', [])).toBe('http://[::1]:5000');
    expect(registryBaseUrl('reg.example', [])).toBe('https://reg.example');
    expect(registryBaseUrl('reg.example:80', ['reg.example:80'])).toBe('http://reg.example:80');
  });

  it('parses Basic and Bearer challenges', () => {
    expect(parseChallenge('Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'http://127.0.0.1:1/token', service: 'reg', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: 'basic', params: { realm: 'x' } });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
  });
});
