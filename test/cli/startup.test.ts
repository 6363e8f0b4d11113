/**
 * What each command loads (issue 11, start-up): the bundled CLI is four files, and each path loads only
 * the ones it needs. A module loader hook records every module Node loads; the .cjs bundles run through
 * src/util/code-cache.ts instead, so the code cache folder tells which of them ran.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { removeTemps, tempTree } from '../support/tmp.js';
import { BIN, ensureBuilt } from './helpers.js';

let hooks: string;

beforeAll(async () => {
  await ensureBuilt();
  hooks = await tempTree('devloop-startup-hooks-', {
    'hooks.mjs': `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.DEVLOOP_TEST_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`,
    'register.mjs': `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  });
}, 180_000);
afterAll(removeTemps);

/** Runs the CLI and returns the files it loaded, relative to the repository, in load order. */
async function loadedFiles(args: string[], cwd: string): Promise<{ exitCode: number; stdout: string; stderr: string; files: string[] }> {
  const log = join(cwd, `loaded-${Date.now()}.txt`);
  await writeFile(log, '');
  const result = await execa('node', ['--import', join(hooks, 'register.mjs'), BIN, ...args], {
    cwd,
    reject: false,
    timeout: 60_000,
    env: { DEVLOOP_TEST_LOAD_LOG: log, NO_COLOR: '1', KUBECONFIG: join(cwd, 'no-kubeconfig'), CI: undefined, XDG_CACHE_HOME: join(cwd, '.cache') },
  });
  const root = new URL('../../', import.meta.url).href;
  const files = (await readFile(log, 'utf8')).split('\n').filter(Boolean).map((url) => url.replace(root, ''));
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, files };
}

describe('start-up', () => {
  test('--help loads the launcher and the commander bundle only', async () => {
    const dir = await tempTree('devloop-startup-help-');
    const { exitCode, files } = await loadedFiles(['--help'], dir);
    expect(exitCode).toBe(0);
    expect(files).toEqual(['bin/devloop.js', 'dist/bundle/main.js']);
  });

  test('a build that starts no process (layer unchanged) runs the commands bundle from its code cache, and loads neither execa nor client-node', async () => {
    const dir = await tempTree('devloop-startup-build-', {
      'devloop.yaml': `apiVersion: devloop/v1
kind: Config
metadata: {name: startup}
build:
  push: false
  artifacts:
    - image: static
      context: app
      oci: {from: scratch, platform: linux/amd64, layers: [{from: www, to: /www}]}
manifests: []
`,
      'app/www/index.html': 'hi\n',
    });
    const first = await loadedFiles(['build', '--skip-preflight', '-o', 'json'], dir);
    expect(first.exitCode, first.stderr).toBe(0);
    // The first command wrote the V8 code cache of the commands bundle (a script, not a module).
    const cacheDir = join(dir, '.cache', 'devloop', 'code-cache');
    const [cache] = await readdir(cacheDir);
    expect(cache).toMatch(/^commands-v[\d.]+-\d+-\d+\.bin$/);
    const written = await stat(join(cacheDir, cache!));
    const noop = await loadedFiles(['build', '--skip-preflight', '-o', 'json'], dir);
    expect(noop.exitCode, noop.stderr).toBe(0);
    expect(noop.stdout).toMatch(/layer 1\/1 www → \/www: unchanged/);
    expect(noop.files).toEqual(['bin/devloop.js', 'dist/bundle/main.js']);
    // V8 took the cache: a refused one is written again.
    expect((await stat(join(cacheDir, cache!))).mtimeMs).toBe(written.mtimeMs);
    expect(await readdir(cacheDir)).toEqual([cache]); // client-node (kubernetes-client-*.bin) never ran
    // A cache V8 refuses (damaged, another Node) costs the compile once and is replaced.
    await writeFile(join(cacheDir, cache!), 'not a code cache');
    const again = await loadedFiles(['build', '--skip-preflight', '-o', 'json'], dir);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await stat(join(cacheDir, cache!))).size).toBeGreaterThan(100_000);
  });
});
