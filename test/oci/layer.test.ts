import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { chmod, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { collectLayerFiles } from '../../src/build/oci/sources.js';
import { cachedLayer, layerInputsDigest, rememberLayer, writeLayer } from '../../src/build/oci/layer.js';
import { tarHeader } from '../../src/build/oci/tar.js';
import { tempDir } from '../support/oci-fixtures.js';

let temp: Awaited<ReturnType<typeof tempDir>>;
let ctx: string;
beforeEach(async () => {
  temp = await tempDir('oci-layer');
  ctx = join(temp.dir, 'ctx');
  await mkdir(join(ctx, 'dist/lib'), { recursive: true });
  await writeFile(join(ctx, 'dist/index.js'), 'console.log(1)\n');
  await writeFile(join(ctx, 'dist/lib/util.js'), 'module.exports = 2\n');
  await writeFile(join(ctx, 'dist/run.sh'), '#!/bin/sh\n');
  await chmod(join(ctx, 'dist/run.sh'), 0o700);
  await writeFile(join(ctx, 'dist/.env'), 'A=1\n');
  await writeFile(join(ctx, 'README.md'), 'not in the layer\n');
});
afterEach(async () => temp.cleanup());

describe('collectLayerFiles', () => {
  it('maps a directory below `to`, adds parents, sorts, normalises modes', async () => {
    const files = await collectLayerFiles(ctx, { from: 'dist', to: '/srv/app' });
    expect(files.map((f) => `${f.type[0]} ${f.mode.toString(8)} ${f.imagePath}`)).toEqual([
      'd 755 srv',
      'd 755 srv/app',
      'f 644 srv/app/.env',
      'f 644 srv/app/index.js',
      'd 755 srv/app/lib',
      'f 644 srv/app/lib/util.js',
      'f 755 srv/app/run.sh',
    ]);
  });

  it('keeps glob matches relative to the glob base; a file goes to `to` itself; `mode` overrides', async () => {
    const globbed = await collectLayerFiles(ctx, { from: 'dist/**/*.js', to: '/app' });
    expect(globbed.filter((f) => f.type === 'file').map((f) => f.imagePath)).toEqual(['app/index.js', 'app/lib/util.js']);
    const single = await collectLayerFiles(ctx, { from: 'dist/index.js', to: '/bin/entry', mode: 0o555 });
    expect(single.map((f) => [f.imagePath, f.mode.toString(8)])).toEqual([['bin', '755'], ['bin/entry', '555']]);
  });

  it('refuses sources outside the context and symlinks pointing outside it', async () => {
    await expect(collectLayerFiles(ctx, { from: '../outside', to: '/x' })).rejects.toMatchObject({ code: 'OCI_LAYER_OUTSIDE_CONTEXT' });
    await expect(collectLayerFiles(ctx, { from: '/etc/passwd', to: '/x' })).rejects.toMatchObject({ code: 'OCI_LAYER_OUTSIDE_CONTEXT' });
    await writeFile(join(temp.dir, 'secret'), 'outside');
    await symlink(join(temp.dir, 'secret'), join(ctx, 'dist/leak'));
    await expect(collectLayerFiles(ctx, { from: 'dist', to: '/app' })).rejects.toMatchObject({
      code: 'OCI_SYMLINK_OUTSIDE_CONTEXT',
      message: expect.stringContaining('dist/leak'),
    });
  });

  it('follows symlinks that stay inside the context; reports empty globs and missing paths', async () => {
    await symlink('index.js', join(ctx, 'dist/alias.js'));
    const files = await collectLayerFiles(ctx, { from: 'dist/*.js', to: '/app' });
    expect(files.find((f) => f.imagePath === 'app/alias.js')).toMatchObject({ type: 'file', size: 15 });
    await expect(collectLayerFiles(ctx, { from: 'build/**', to: '/app' })).rejects.toMatchObject({ code: 'OCI_LAYER_EMPTY' });
    await expect(collectLayerFiles(ctx, { from: 'nope.txt', to: '/app/' })).rejects.toMatchObject({ code: 'OCI_LAYER_MISSING' });
  });
});

describe('writeLayer', () => {
  it('writes a reproducible tar.gz: fixed gzip header, owners, mtime; readable by tar', async () => {
    const files = await collectLayerFiles(ctx, { from: 'dist', to: '/app' });
    const a = await writeLayer(join(temp.dir, 'store-a'), files, 1);
    // Touching files changes nothing in the output; the content and modes are all that count.
    await utimes(join(ctx, 'dist/index.js'), new Date(), new Date('2001-01-01'));
    const b = await writeLayer(join(temp.dir, 'store-b'), await collectLayerFiles(ctx, { from: 'dist', to: '/app' }), 1);
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(a.diffId);

    const gz = await readFile(a.file);
    expect(gz.readUInt32LE(4)).toBe(0); // gzip mtime
    expect(gz[9]).toBe(0xff); // gzip OS byte
    const listing = await execa('tar', ['-tvzf', a.file, '--numeric-owner', '--full-time']);
    expect(listing.stdout.split('\n')).toEqual([
      'drwxr-xr-x 0/0               0 1970-01-01 00:00:01 app/',
      '-rw-r--r-- 0/0               4 1970-01-01 00:00:01 app/.env',
      '-rw-r--r-- 0/0              15 1970-01-01 00:00:01 app/index.js',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00:01 app/lib/',
      '-rw-r--r-- 0/0              19 1970-01-01 00:00:01 app/lib/util.js',
      '-rwxr-xr-x 0/0              10 1970-01-01 00:00:01 app/run.sh',
    ]);
    const other = await writeLayer(join(temp.dir, 'store-c'), files, 1_700_000_000);
    expect(other.digest).not.toBe(a.digest); // SOURCE_DATE_EPOCH reaches the entries
  });

  it('caches by inputs: unchanged files hit, a rewritten file misses', async () => {
    const store = join(temp.dir, 'store');
    const layer = { from: 'dist', to: '/app' };
    const files = await collectLayerFiles(ctx, layer);
    const key = layerInputsDigest(layer, files, 1);
    expect(await cachedLayer(store, key)).toBeUndefined();
    const blob = await writeLayer(store, files, 1);
    await rememberLayer(store, key, blob);
    expect(await cachedLayer(store, layerInputsDigest(layer, await collectLayerFiles(ctx, layer), 1))).toEqual(blob);
    await writeFile(join(ctx, 'dist/index.js'), 'console.log(3)\n');
    expect(layerInputsDigest(layer, await collectLayerFiles(ctx, layer), 1)).not.toBe(key);
  });

  it('compression none: the blob is the plain tar (digest = diff_id), reproducible; the setting keys the cache', async () => {
    const layer = { from: 'dist', to: '/app' };
    const files = await collectLayerFiles(ctx, layer);
    const gzipped = await writeLayer(join(temp.dir, 'store-gz'), files, 1);
    const plain = await writeLayer(join(temp.dir, 'store-a'), files, 1, undefined, { kind: 'none' });
    const again = await writeLayer(join(temp.dir, 'store-b'), files, 1, undefined, { kind: 'none' });
    expect(plain).toMatchObject({ digest: plain.diffId, diffId: gzipped.diffId, compressed: false });
    expect(gzipped.compressed).toBe(true);
    expect(again.digest).toBe(plain.digest);
    const tar = await readFile(plain.file);
    expect(tar.length).toBe(plain.size);
    expect(tar.equals(gunzipSync(await readFile(gzipped.file)))).toBe(true);
    expect((await execa('tar', ['-tf', plain.file])).stdout.split('\n')).toContain('app/index.js');

    const fast = await writeLayer(join(temp.dir, 'store-1'), files, 1, undefined, { kind: 'gzip', level: 1 });
    expect(fast.diffId).toBe(gzipped.diffId);
    expect(gunzipSync(await readFile(fast.file)).equals(tar)).toBe(true);

    // One cache entry per setting: a gzip'd layer is never handed out for `none`, nor level 6 for level 1.
    const keys = [
      layerInputsDigest(layer, files, 1),
      layerInputsDigest(layer, files, 1, { kind: 'gzip', level: 1 }),
      layerInputsDigest(layer, files, 1, { kind: 'none' }),
    ];
    expect(new Set(keys).size).toBe(3);
    const store = join(temp.dir, 'store-a');
    await rememberLayer(store, keys[2]!, plain);
    expect(await cachedLayer(store, keys[2]!)).toEqual(plain);
    expect(await cachedLayer(store, keys[0]!)).toBeUndefined();
  });

  it('stores long and non-ASCII names with PAX records that tar reads back', async () => {
    const deep = `${'segment-of-a-long-path/'.repeat(12)}file.txt`;
    const header = tarHeader({ path: deep, type: 'file', mode: 0o644, size: 0 }, 1);
    expect(header.length % 512).toBe(0);
    await mkdir(join(ctx, 'long', ...deep.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(ctx, 'long', deep), 'deep');
    await writeFile(join(ctx, 'long', 'grüße.txt'), 'hi');
    const blob = await writeLayer(join(temp.dir, 's'), await collectLayerFiles(ctx, { from: 'long', to: '/l' }), 1);
    const names = (await execa('tar', ['-tzf', blob.file])).stdout.split('\n');
    expect(names).toContain(`l/${deep}`);
    expect(names).toContain('l/grüße.txt');
    expect(gunzipSync(await readFile(blob.file)).length % 512).toBe(0);
  });
});
