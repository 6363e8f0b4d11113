/**
 * Loads the commands (everything but the commander wiring) once a command runs. From the bundled
 * CLI, `dist/bundle/commands.cjs` (scripts/bundle.mjs) is compiled with V8's code cache:
 * compiling its ~480 KB anew took ~14 ms of every command and running it cold ~10 ms; with the
 * cache, ~2 and ~6 (Node 22 caches module code itself, `module.enableCompileCache`; Node 20 has
 * nothing). The cache is written once per build of devloop, when the first command exits (so it
 * holds the functions that command compiled too), below the user's cache folder: code from a
 * shared folder such as /tmp could be planted by another user. A cache V8 refuses (another Node)
 * is replaced; one that cannot be read or written only costs the compile.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Commands = typeof import('./commands/index.js');

/** Set by scripts/bundle.mjs in the bundled CLI; undefined when dist/cli runs unbundled (tests). */
declare const __DEVLOOP_BUNDLE__: boolean | undefined;

export async function loadCommands(): Promise<Commands> {
  if (typeof __DEVLOOP_BUNDLE__ === 'undefined') return import('./commands/index.js');
  const { createRequire } = await import('node:module');
  const file = fileURLToPath(new URL('./commands.cjs', import.meta.url));
  const url = new URL('./commands.cjs', import.meta.url).href;
  // import() from this file resolves like the bundle's own (the same folder).
  const dynamicImport = (specifier: string): Promise<unknown> => import(specifier);
  if (process.sourceMapsEnabled) {
    // --verbose: Node's loader maps stack traces to the sources; it has no code cache.
    Object.assign(globalThis, { __devloopUrl: url, $dlimp: dynamicImport });
    return createRequire(import.meta.url)(file) as Commands;
  }
  const vm = await import('node:vm');
  const source = readFileSync(file, 'utf8');
  const cacheFile = codeCacheFile(file);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // none yet
  }
  // As Node wraps a CommonJS module, plus import.meta.url and import() (as `$dlimp`: V8 drops a
  // cached script's own import callback; see scripts/bundle.mjs).
  const script = new vm.Script(`(function (exports, require, module, __devloopUrl, $dlimp) {\n${source}\n})`, {
    filename: file,
    lineOffset: -1, // stack traces keep the file's own line numbers
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCodeCache(cacheFile, script.createCachedData()));
  const module = { exports: {} as Commands };
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, url: string, dynamicImport: (specifier: string) => Promise<unknown>) => void;
  run(module.exports, createRequire(file), module, url, dynamicImport);
  return module.exports;
}

/** Per build of the bundle (its size and time) and per Node (V8 refuses a cache from another one anyway). */
function codeCacheFile(bundle: string): string {
  const { size, mtimeMs } = statSync(bundle);
  const home = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(home, 'devloop', 'code-cache', `commands-${process.version}-${size}-${Math.floor(mtimeMs)}.bin`);
}

/** Writes the cache and removes those of earlier builds. */
function writeCodeCache(file: string, data: Buffer): void {
  try {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file); // concurrent first runs each write whole files
    for (const name of readdirSync(dir)) if (name.endsWith('.bin') && join(dir, name) !== file) rmSync(join(dir, name), { force: true });
  } catch {
    // a read-only home: the next run compiles again
  }
}
