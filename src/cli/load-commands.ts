/**
 * Loads the commands (everything but the commander wiring) once a command runs: in the bundled CLI
 * `dist/bundle/commands.cjs`, run with V8's code cache (util/code-cache.ts); unbundled (tests),
 * the module itself.
 */
export type Commands = typeof import('./commands/index.js');

/** Set by scripts/bundle.mjs in the bundled CLI; undefined when dist/ runs unbundled. */
declare const __DEVLOOP_BUNDLE__: boolean | undefined;

export async function loadCommands(): Promise<Commands> {
  if (typeof __DEVLOOP_BUNDLE__ === 'undefined') return import('./commands/index.js');
  const { runBundle } = await import('../util/code-cache.js');
  // import() from here resolves as from the commands bundle (the same folder).
  return runBundle<Commands>(new URL('./commands.cjs', import.meta.url), (specifier) => import(specifier));
}
