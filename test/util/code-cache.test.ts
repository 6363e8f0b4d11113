/**
 * util/code-cache.ts in a child process (the cache is written when a process exits): a bundle's
 * first run writes its V8 code cache below XDG_CACHE_HOME, the next run uses it (import() still
 * works, through `$dlimp`), and a new build of the bundle keeps the newest four caches.
 */
import { execa } from 'execa';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { removeTemps, tempTree } from '../support/tmp.js';
import { ROOT, ensureBuilt } from '../cli/helpers.js';

beforeAll(ensureBuilt, 180_000);
afterAll(removeTemps);

describe('code cache of a bundle', () => {
  test('written by the first run, used by the next, the newest four builds kept', async () => {
    const dir = await tempTree('devloop-code-cache-', {
      'b.cjs': "exports.answer = 42;\nexports.viaImport = () => $dlimp('node:os').then((os) => typeof os.homedir);\n",
    });
    const cacheHome = join(dir, 'cache');
    const cacheDir = join(cacheHome, 'devloop', 'code-cache');
    const bundle = join(dir, 'b.cjs');
    const script = `const { runBundle } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'util', 'code-cache.js')).href)});
const b = runBundle(new URL(${JSON.stringify(pathToFileURL(bundle).href)}), (s) => import(s));
console.log(b.answer, await b.viaImport());`;
    const run = async (): Promise<string> => {
      const result = await execa('node', ['--input-type=module', '-e', script], { env: { XDG_CACHE_HOME: cacheHome }, reject: false, timeout: 30_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout;
    };

    expect(await run()).toBe('42 function');
    const [cache] = await readdir(cacheDir);
    expect(cache).toMatch(new RegExp(`^b-${process.version.replaceAll('.', '\\.')}-\\d+-\\d+\\.bin$`));
    const written = (await stat(join(cacheDir, cache!))).mtimeMs;
    expect(await run()).toBe('42 function'); // from the cache: import() still works
    expect((await stat(join(cacheDir, cache!))).mtimeMs).toBe(written); // V8 took it: not written again

    // Five caches of earlier builds (older), then a new build of the bundle: the newest four stay.
    const old = Date.now() / 1000 - 3600;
    for (let i = 0; i < 5; i++) {
      const name = join(cacheDir, `b-${process.version}-1${i}-1.bin`);
      await writeFile(name, 'old');
      await utimes(name, old + i, old + i);
    }
    await writeFile(bundle, "exports.answer = 43;\nexports.viaImport = async () => 'none';\n");
    expect(await run()).toBe('43 none');
    const kept = await readdir(cacheDir);
    const fresh = kept.filter((name) => name !== cache && !/-1\d-1\.bin$/.test(name));
    expect(fresh).toHaveLength(1); // the new build's
    expect(kept.sort()).toEqual([cache!, `b-${process.version}-13-1.bin`, `b-${process.version}-14-1.bin`, fresh[0]!].sort());
  });
});
