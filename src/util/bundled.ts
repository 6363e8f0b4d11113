/**
 * Where the CLI's big parts come from. The bundled CLI (bin/devloop.js → dist/bundle/main.js) runs
 * CommonJS bundles of them with V8's code cache (util/code-cache.ts); when the compiled modules
 * run as they are (tests), each is imported as a module.
 */

/** Defined (true) by scripts/bundle.mjs in the bundles; undefined in the unbundled modules. */
declare const __DEVLOOP_BUNDLE__: boolean | undefined;

/** The bundle at `url` when bundled, else `unbundled()`. */
export async function loadBundle<T>(url: URL, unbundled: () => Promise<T>): Promise<T> {
  if (typeof __DEVLOOP_BUNDLE__ === 'undefined') return unbundled();
  const { runBundle } = await import('./code-cache.js');
  // A bundle's import() resolves from this file's folder, which is the bundles' (dist/bundle/).
  return runBundle<T>(url, (specifier) => import(specifier));
}
