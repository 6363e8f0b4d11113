/** The custom builder without a cluster: its env, failures, a bad OCI layout, declared inputs, config checks. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCustomBuilder, pushLayout } from '../../src/build/custom/index.js';
import type { ArtifactConfig, CustomBuildConfig } from '../../src/config/types.js';
import { DevloopError } from '../../src/errors.js';
import { listArtifactInputs } from '../../src/inputs/index.js';
import { loadConfigText } from '../../src/config/load.js';
import { recorder, removeTemps, tempProject } from './helpers.js';

afterAll(removeTemps);

const artifact = (context: string, custom: Partial<CustomBuildConfig>): ArtifactConfig => ({
  image: 'app',
  context,
  custom: { command: 'true', inputs: [], env: {}, timeout: 30_000, ...custom },
  sync: [],
});

const noDocker = async () => {
  throw new Error('docker must not be used');
};

function request(a: ArtifactConfig, push: boolean) {
  const { events, emit } = recorder();
  return { events, req: { artifact: a, repo: '127.0.0.1:1/nothing/app', tag: 'abc', push, registry: { insecureRegistries: [] }, projectDir: a.context, emit, signal: new AbortController().signal, platforms: ['linux/arm64'] } };
}

describe('custom builder', () => {
  it('runs the script in the context with IMAGE, IMAGE_REPO, IMAGE_TAG, PUSH_IMAGE, BUILD_CONTEXT, PLATFORMS and its env; output is build logs', async () => {
    const dir = await tempProject();
    const a = artifact(dir, { command: 'echo "$IMAGE|$IMAGE_REPO|$IMAGE_TAG|$PUSH_IMAGE|$BUILD_CONTEXT|$PLATFORMS|$EXTRA" > env.txt; echo built; exit 7', env: { EXTRA: 'x' } });
    const { events, req } = request(a, true);
    const error = (await createCustomBuilder({ docker: noDocker }).build(req).catch((e: unknown) => e)) as DevloopError;
    expect(await readFile(join(dir, 'env.txt'), 'utf8')).toBe(`127.0.0.1:1/nothing/app:abc|127.0.0.1:1/nothing/app|abc|true|${dir}|linux/arm64|x\n`);
    expect(events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? `${e.stage} ${e.line}` : ''))).toEqual(['build built']);
    expect(error.code).toBe('CUSTOM_BUILD_FAILED');
    expect(error.message).toBe('app: custom build "echo "$IMAGE|$IMAGE_REPO|$IMAGE_TAG|$PUSH_IMAGE|$BUILD_CONTEXT|$PLATFORMS|$EXTRA" > env.txt; echo built; exit 7" failed with exit code 7: built');
  });

  it('a script that outlives custom.timeout is stopped: CUSTOM_BUILD_TIMEOUT', async () => {
    const dir = await tempProject();
    const { req } = request(artifact(dir, { command: ['sleep', '30'], timeout: 200 }), true);
    const error = (await createCustomBuilder({ docker: noDocker }).build(req).catch((e: unknown) => e)) as DevloopError;
    expect(error.code).toBe('CUSTOM_BUILD_TIMEOUT');
  });

  it('an OCI layout with a missing blob is refused with one line', async () => {
    const dir = await tempProject();
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 10 }] }));
    const { req } = request(artifact(dir, {}), true);
    const error = (await pushLayout(dir, req).catch((e: unknown) => e)) as DevloopError;
    expect(error).toBeInstanceOf(DevloopError);
    expect(error.message).toBe(`app: the OCI layout the custom build wrote is unusable: blob sha256:${'0'.repeat(64)} is missing`);
  });

  it('an image for another architecture than the target is refused before anything is pushed', async () => {
    const dir = await tempProject();
    const { createHash } = await import('node:crypto');
    const put = async (bytes: Buffer): Promise<string> => {
      const hex = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(dir, 'blobs', 'sha256', hex), bytes);
      return `sha256:${hex}`;
    };
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } }));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await put(config), size: config.length }, layers: [] }));
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: await put(manifest), size: manifest.length }] }));
    const { req } = request(artifact(dir, {}), true); // targets linux/arm64
    const error = (await pushLayout(dir, req).catch((e: unknown) => e)) as DevloopError;
    expect(error.code).toBe('PLATFORM_MISMATCH');
    expect(error.message).toBe('app: the custom build made a linux/amd64 image, but the image is for linux/arm64');
  });

  it('its declared input globs are the artifact inputs (cache and watching)', async () => {
    const dir = await tempProject({ 'src/a.java': 'a', 'src/b.txt': 'b', 'pom.xml': 'p', 'target/out.jar': 'j' });
    const files = await listArtifactInputs(artifact(dir, { inputs: ['src/**/*.java', 'pom.xml'] }));
    expect(files.map((f) => f.path)).toEqual(['pom.xml', 'src/a.java']);
  });
});

describe('custom builder config', () => {
  const load = (yaml: string) =>
    loadConfigText(`apiVersion: devloop/v1\nkind: Config\nmetadata: {name: c}\nbuild:\n  artifacts:\n    - image: app\n${yaml}`, {
      file: '/p/devloop.yaml',
      displayName: 'devloop.yaml',
      profiles: [],
      command: 'build',
      overrides: {},
      env: {},
    });

  it('gets defaults and no docker section', async () => {
    const { config } = await load('      custom: {command: "bazel run //app:push"}\n');
    expect(config.build.artifacts[0]!.custom).toEqual({ command: 'bazel run //app:push', inputs: [], env: {}, timeout: 1_800_000 });
    expect(config.build.artifacts[0]!.docker).toBeUndefined();
  });

  it('refuses two builders and a missing command, with the line', async () => {
    await expect(load('      docker: {}\n      custom: {command: x}\n')).rejects.toThrow(/devloop.yaml:8.*set either docker or custom, not both/);
    await expect(load('      custom: {inputs: [x]}\n')).rejects.toThrow(/custom.command: missing required key/);
  });
});
