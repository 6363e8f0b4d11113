/** Target platforms: where they come from, the ELF check, docker's --platform, the oci builder's multi-platform index. */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkBinaries, elfArchitecture, hostPlatform, targetPlatforms } from '../../src/build/platform.js';
import { dockerBuildArgs } from '../../src/build/docker/index.js';
import type { KubeClient } from '../../src/kube/client.js';
import { DevloopError } from '../../src/errors.js';
import { loadConfigText } from '../../src/config/load.js';
import { RegistryClient } from '../../src/registry/client.js';
import { ociArtifact } from '../support/oci-fixtures.js';
import { dockerArtifact, removeTemps, tempProject } from './helpers.js';
import { testRegistry } from '../support/services.js';

afterAll(removeTemps);

/** An ELF header: class 64-bit, little endian, e_machine at 18. */
function elf(machine: number, littleEndian = true): Buffer {
  const header = Buffer.alloc(64);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, littleEndian ? 1 : 2, 1]);
  if (littleEndian) header.writeUInt16LE(machine, 18);
  else header.writeUInt16BE(machine, 18);
  return header;
}

const nodes = (archs: string[]) => async () =>
  ({ core: { listNode: async () => ({ items: archs.map((architecture) => ({ status: { nodeInfo: { operatingSystem: 'linux', architecture } } })) }) } }) as unknown as KubeClient;

describe('target platforms', () => {
  it('build.platform (or --platform) wins; else the nodes\' architectures, unique and sorted; else this machine\'s', async () => {
    expect(await targetPlatforms({ platform: 'linux/arm64' }, nodes(['amd64']))).toEqual({ platforms: ['linux/arm64'], source: 'config' });
    expect(await targetPlatforms({ platform: [] }, nodes(['arm64', 'amd64', 'arm64']))).toEqual({ platforms: ['linux/amd64', 'linux/arm64'], source: 'cluster' });
    const offline = await targetPlatforms({}, async () => {
      throw new Error('no kubeconfig found');
    });
    expect(offline).toEqual({ platforms: [hostPlatform()], source: 'host', reason: 'no kubeconfig found' });
  });

  it('remembers the nodes\' platforms under .devloop/ for commands without a client; run and dev refresh them', async () => {
    const dir = await tempProject();
    const cache = { file: join(dir, '.devloop', 'node-platforms.json'), context: '', refresh: false };
    expect((await targetPlatforms({}, nodes(['arm64']), cache)).platforms).toEqual(['linux/arm64']);
    const unreachable = async (): Promise<KubeClient> => {
      throw new Error('must not be asked');
    };
    expect(await targetPlatforms({}, unreachable, cache)).toEqual({ platforms: ['linux/arm64'], source: 'cluster' });
    expect((await targetPlatforms({}, nodes(['amd64']), { ...cache, refresh: true })).platforms).toEqual(['linux/amd64']);
    expect((await targetPlatforms({}, unreachable, { ...cache, maxAgeMs: 0 })).source).toBe('host');
  });

  it('--platform is validated at load time and replaces build.platform', async () => {
    const text = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: p}\nbuild: {platform: linux/amd64}\n';
    const load = (platform: string) => loadConfigText(text, { file: '/p/devloop.yaml', displayName: 'devloop.yaml', profiles: [], command: 'build', overrides: { platform }, env: {} });
    expect((await load('linux/arm64, linux/amd64')).config.build.platform).toEqual(['linux/arm64', 'linux/amd64']);
    await expect(load('arm64')).rejects.toThrow('--platform: invalid platform "arm64"');
  });

  it('docker builds get --platform for one target platform', () => {
    const args = dockerBuildArgs({ artifact: dockerArtifact('a', '/ctx'), repo: 'r/a', tag: 't', platforms: ['linux/arm64'] }, { buildkit: false, iidFile: '/tmp/iid' });
    expect(args.join(' ')).toContain('--platform linux/arm64');
  });
});

describe('the ELF check', () => {
  it('reads the architecture from the header (both byte orders), and nothing from other files', () => {
    expect(elfArchitecture(elf(62))).toBe('amd64');
    expect(elfArchitecture(elf(183))).toBe('arm64');
    expect(elfArchitecture(elf(21, true))).toBe('ppc64le');
    expect(elfArchitecture(elf(22, false))).toBe('s390x');
    expect(elfArchitecture(Buffer.from('#!/bin/sh\necho not elf at all\n'))).toBeUndefined();
  });

  it('an amd64 binary for arm64 nodes fails with one line naming the file; a matching one and scripts pass', async () => {
    const dir = await tempProject({ 'run.sh': '#!/bin/sh\n' });
    await writeFile(join(dir, 'amd'), elf(62));
    const files = [{ shown: 'run.sh', path: join(dir, 'run.sh') }, { shown: 'bin/app', path: join(dir, 'amd') }];
    await checkBinaries('hello', files, ['linux/amd64']);
    const error = (await checkBinaries('hello', files, ['linux/arm64']).catch((e: unknown) => e)) as DevloopError;
    expect(error).toBeInstanceOf(DevloopError);
    expect(error.code).toBe('PLATFORM_MISMATCH');
    expect(error.message).toBe('hello: bin/app is an amd64 binary, but the image is for linux/arm64');
    expect(error.hint).toContain('GOARCH=arm64');
    const multi = (await checkBinaries('hello', files, ['linux/amd64', 'linux/arm64']).catch((e: unknown) => e)) as DevloopError;
    expect(multi.message).toBe('hello: bin/app is an amd64 binary, but the image is for linux/arm64');
  });
});

describe('oci builder for several platforms', () => {
  it('pushes one manifest per platform and an index under the tag', async () => {
    const registry = await testRegistry();
    const dir = await tempProject({ 'www/index.html': 'hi\n' });
    const artifact = ociArtifact('multi', dir, { platform: '', layers: [{ from: 'www', to: '/www' }] });
    const repo = `${registry}/devloop-test/multi-${Date.now()}`;
    const { events } = await (async () => {
      const { ociBuilder } = await import('../../src/build/oci/index.js');
      const recorded: unknown[] = [];
      const out = await ociBuilder.build({ artifact, repo, tag: 't1', push: true, registry: { insecureRegistries: [] }, projectDir: dir, emit: (e) => recorded.push(e), signal: new AbortController().signal, platforms: ['linux/amd64', 'linux/arm64'] });
      return { events: recorded, digest: out.digest };
    })();
    const index = await RegistryClient.forRepository(repo, { insecureRegistries: [] }).getManifest('t1');
    const parsed = JSON.parse(index.bytes.toString('utf8')) as { manifests: { platform: { architecture: string } }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(parsed.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    expect(JSON.stringify(events)).toContain('an index of linux/amd64, linux/arm64');
  });
});
