/**
 * Runs one of devloop's CommonJS bundles (scripts/bundle.mjs: the commands, client-node, execa) with
 * V8's code cache, as Node 22 does for every module (`module.enableCompileCache`) and Node 20 does
 * for none. Compiling and running them cold took ~24 ms (the commands) and ~125 ms (client-node) of
 * each command that needs them; with the cache ~8 and ~50.
 *
 * The cache of a bundle is written when the first process that ran it exits (it then holds the
 * functions that process compiled too), one file per bundle build and Node version (the last four
 * builds kept), below the user's cache folder: a cache is executable code, and one in a shared
 * folder such as /tmp could be planted by another user. A cache V8 refuses (damaged, another Node)
 * is written anew; one that cannot be read or written only costs the compile. With source maps on
 * (`--verbose`), the bundle loads through Node's own loader instead, which maps stack traces to the
 * sources.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/**
 * What a bundle gets besides CommonJS's `exports`, `require` and `module`: `__devloopUrl` for its
 * `import.meta.url`, and `$dlimp` for its `import()`: V8 drops a cached script's own dynamic-import
 * callback, so scripts/bundle.mjs rewrites the calls.
 */
const WRAPPER_PARAMETERS = ['exports', 'require', 'module', '__devloopUrl', '$dlimp'];

/** Runs the bundle at `url` and returns its exports. */
export function runBundle<T>(url: URL, dynamicImport: (specifier: string) => Promise<unknown>): T {
  const file = fileURLToPath(url);
  if (process.sourceMapsEnabled) {
    Object.assign(globalThis, { __devloopUrl: url.href, $dlimp: dynamicImport });
    return createRequire(file)(file) as T;
  }
  const source = readFileSync(file, 'utf8');
  const prefix = `${basename(file, '.cjs')}-${process.version}-`;
  const cacheFile = codeCacheFile(file, prefix);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // none yet
  }
  const script = new Script(`(function (${WRAPPER_PARAMETERS.join(', ')}) {\n${source}\n})`, {
    filename: file,
    lineOffset: -1, // stack traces keep the file's own line numbers
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCodeCache(cacheFile, script.createCachedData(), prefix));
  const module = { exports: {} as T };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, url.href, dynamicImport);
  return module.exports;
}

/** Per bundle and Node (`prefix`; V8 refuses a cache from another Node anyway), and per build of the bundle (its size and time). */
function codeCacheFile(bundle: string, prefix: string): string {
  const { size, mtimeMs } = statSync(bundle);
  const home = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(home, 'devloop', 'code-cache', `${prefix}${size}-${Math.floor(mtimeMs)}.bin`);
}

/** Caches kept per bundle and Node: two installs of devloop used in turn must not evict each other's. */
const KEPT_BUILDS = 4;

/** Writes the cache and removes the oldest of the same bundle and Node beyond KEPT_BUILDS (earlier builds). */
function writeCodeCache(file: string, data: Buffer, prefix: string): void {
  try {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file); // concurrent first runs each write whole files
    const caches = readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.bin'))
      .map((name) => ({ path: join(dir, name), time: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.time - a.time);
    for (const old of caches.slice(KEPT_BUILDS)) rmSync(old.path, { force: true });
  } catch {
    // a read-only home: the next run compiles again
  }
}
