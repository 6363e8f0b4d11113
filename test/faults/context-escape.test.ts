/**
 * Issue 14 case 1: files from outside the build context reached an image. The OCI builder refused a
 * symlink pointing out, but not a path going *through* a symlinked folder (`www/od -> /outside`,
 * `www/etcdir -> /etc`): the host file was packed and pushed. The same rule now covers sync sources
 * and `docker.dockerfile` (whose parse error used to quote the first line of any file).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectLayerFiles } from '../../src/build/oci/sources.js';
import { checkDockerfile } from '../../src/build/docker/index.js';
import { checkSyncSources } from '../../src/sync/index.js';
import { syncArchive } from '../../src/sync/tar.js';
import type { ArtifactConfig } from '../../src/config/types.js';
import { devloop, ensureBuilt } from '../cli/helpers.js';
import { removeTemps, tempDir, writeTree } from '../support/tmp.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-CONTEXT';
let root: string;
let ctx: string;
let outside: string;

beforeAll(ensureBuilt);
afterAll(removeTemps);
beforeEach(async () => {
  root = await tempDir('devloop-faults-escape-');
  ctx = join(root, 'proj');
  outside = join(root, 'outside');
  await writeTree(root, {
    'outside/secret.txt': `${SECRET}\n`,
    'proj/www/index.html': '<h1>hi</h1>\n',
    'proj/assets/logo.txt': 'logo\n',
    'proj/Dockerfile': 'FROM scratch\n',
  });
  await symlink(outside, join(ctx, 'www/od'));
  await symlink('/etc', join(ctx, 'www/etcdir'));
  await symlink('../assets', join(ctx, 'www/in')); // stays inside: allowed
});

describe('OCI layers', () => {
  test.each([
    ['a file below a linked folder', 'www/od/secret.txt', 'www/od', outsideOf],
    ['a glob below a linked folder', 'www/od/*.txt', 'www/od', outsideOf],
    ['a host file through a link to /etc', 'www/etcdir/hostname', 'www/etcdir', () => '/etc'],
  ])('refuses %s, naming the path and the link', async (_name, from, link, target) => {
    await expect(collectLayerFiles(ctx, { from, to: '/www/x.txt' })).rejects.toMatchObject({
      code: 'OCI_SYMLINK_OUTSIDE_CONTEXT',
      message: `oci layer source "${from}" goes through the symlink "${link}", which points outside the build context (to ${target()})`,
    });
  });

  test('a folder or glob whose walk meets such a link is refused too', async () => {
    await expect(collectLayerFiles(ctx, { from: 'www', to: '/www' })).rejects.toMatchObject({ code: 'OCI_SYMLINK_OUTSIDE_CONTEXT' });
    await expect(collectLayerFiles(ctx, { from: 'www/*/hostname', to: '/w/' })).rejects.toMatchObject({ code: 'OCI_SYMLINK_OUTSIDE_CONTEXT' });
  });

  test('links that stay inside the context still work', async () => {
    const files = await collectLayerFiles(ctx, { from: 'www/in/*.txt', to: '/w/' });
    expect(files.filter((f) => f.type === 'file').map((f) => [f.imagePath, f.source])).toEqual([['w/logo.txt', join(ctx, 'www/in/logo.txt')]]);
  });

  test('the CLI fails the build and never shows the file', async () => {
    await writeFile(
      join(ctx, 'devloop.yaml'),
      'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: esc}\nbuild:\n  defaultRepo: 127.0.0.1:9/nothing\n  artifacts:\n' +
        '    - image: esc\n      oci:\n        from: scratch\n        layers:\n          - {from: www/od/secret.txt, to: /www/s.txt}\n',
    );
    // The registry is deliberately dead (nothing may reach it): skip the pre-flight so the build itself refuses.
    const result = await devloop(['build', '--skip-preflight'], ctx);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('error: esc build: oci layer source "www/od/secret.txt" goes through the symlink "www/od", which points outside the build context');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});

function outsideOf(): string {
  return outside;
}

describe('docker.dockerfile', () => {
  const artifact = (context: string, dockerfile: string): ArtifactConfig =>
    ({ image: 'app', context, docker: { dockerfile, buildArgs: {}, target: '' }, sync: [] }) as unknown as ArtifactConfig;

  test('outside the context and the project folder: refused before docker reads it', async () => {
    await expect(checkDockerfile(artifact(ctx, '../outside/secret.txt'), ctx)).rejects.toMatchObject({
      code: 'DOCKERFILE_OUTSIDE',
      message: 'app: docker.dockerfile "../outside/secret.txt" is outside the build context and the project folder',
    });
    await expect(checkDockerfile(artifact(ctx, join(outside, 'secret.txt')), ctx)).rejects.toMatchObject({ code: 'DOCKERFILE_OUTSIDE' });
  });

  test('a symlink leading out is refused and named', async () => {
    await symlink(join(outside, 'secret.txt'), join(ctx, 'Dockerfile.dev'));
    await expect(checkDockerfile(artifact(ctx, 'Dockerfile.dev'), ctx)).rejects.toMatchObject({
      code: 'DOCKERFILE_OUTSIDE',
      message: expect.stringContaining('(through the symlink "Dockerfile.dev")'),
    });
  });

  test('Skaffold-style `../Dockerfile` next to devloop.yaml stays valid; a missing one is "not found"', async () => {
    await expect(checkDockerfile(artifact(join(ctx, 'www'), '../Dockerfile'), ctx)).resolves.toBeUndefined();
    await expect(checkDockerfile(artifact(join(ctx, 'www'), 'Dockerfile'), ctx)).rejects.toMatchObject({ code: 'DOCKERFILE_MISSING' });
  });

  test('the CLI never quotes the outside file', async () => {
    await writeFile(
      join(ctx, 'devloop.yaml'),
      'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: esc}\nbuild:\n  defaultRepo: 127.0.0.1:9/nothing\n  artifacts:\n' +
        '    - image: esc\n      docker: {dockerfile: ../outside/secret.txt}\n',
    );
    // The registry is deliberately dead (nothing may reach it): skip the pre-flight so the build itself refuses.
    const result = await devloop(['build', '--skip-preflight'], ctx);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('esc: docker.dockerfile "../outside/secret.txt" is outside the build context and the project folder');
    expect((result.stdout + result.stderr).toUpperCase()).not.toContain(SECRET);
  });
});

describe('sync sources', () => {
  test('a changed file below a linked folder is refused, naming the link', async () => {
    await expect(checkSyncSources(ctx, [{ local: join(ctx, 'www/od/secret.txt') }])).rejects.toMatchObject({
      code: 'SYNC_OUTSIDE_CONTEXT',
      message: 'refusing to sync "www/od/secret.txt": it leads outside the artifact context through the symlink "www/od"',
    });
    await expect(checkSyncSources(ctx, [{ local: join(ctx, 'www/etcdir/hostname') }])).rejects.toMatchObject({ code: 'SYNC_OUTSIDE_CONTEXT' });
  });

  test('files inside (also through an inside link) pass; a file that is itself a link is sent as a link', async () => {
    await mkdir(join(ctx, 'www/sub'), { recursive: true });
    await symlink('/etc/hostname', join(ctx, 'www/sub/host'));
    const copies = [{ local: join(ctx, 'www/index.html') }, { local: join(ctx, 'www/in/logo.txt') }, { local: join(ctx, 'www/sub/host') }];
    await expect(checkSyncSources(ctx, copies)).resolves.toBeUndefined();
    const archive = await syncArchive([{ local: join(ctx, 'www/sub/host'), name: 'host' }]);
    expect(archive.subarray(156, 157).toString()).toBe('2'); // tar type flag: symlink
    expect(archive.subarray(157, 157 + 13).toString()).toBe('/etc/hostname');
  });
});
