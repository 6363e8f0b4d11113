import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectGarbage } from '../../src/build/oci/gc.js';
import { buildOci, ociArtifact, tempDir } from '../support/oci-fixtures.js';

let temp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  temp = await tempDir('oci-gc');
});
afterEach(async () => temp.cleanup());

describe('blob store garbage collection', () => {
  it('deletes blobs of superseded images once past the grace period, keeping the current ones', async () => {
    const artifact = ociArtifact('app', temp.dir, { layers: [{ from: 'main.txt', to: '/main.txt' }] });
    const blobs = () => readdir(join(temp.dir, '.devloop', 'oci', 'blobs', 'sha256'));
    await writeFile(join(temp.dir, 'main.txt'), 'one');
    await buildOci(artifact, temp.dir, '127.0.0.1:1/app', 'dev', false);
    const first = await blobs();
    await writeFile(join(temp.dir, 'main.txt'), 'two');
    await buildOci(artifact, temp.dir, '127.0.0.1:1/app', 'dev', false);
    expect((await blobs()).length).toBe(first.length * 2); // within the grace period nothing goes

    const store = join(temp.dir, '.devloop', 'oci');
    expect(await collectGarbage(store, Date.now() + 60 * 60 * 1000)).toBeGreaterThan(0);
    expect((await blobs()).length).toBe(first.length);
    // The current image is still complete: rebuilding hits the layer cache.
    const { events } = await buildOci(artifact, temp.dir, '127.0.0.1:1/app', 'dev', false);
    expect(events.some((e) => e.type === 'progress' && e.message.includes('unchanged'))).toBe(true);
  });
});
