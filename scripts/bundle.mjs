// Bundles the CLI after `tsc` (run by `npm run build`). Node spends most of a short command's time
// resolving and loading modules one file at a time, so bin/devloop.js runs three bundles instead:
//   dist/bundle/main.js      the commander wiring (all `devloop --help` loads);
//   dist/bundle/commands.cjs every command and what it imports (yaml, chokidar, …), loaded once a command
//                            runs; modules imported lazily stay lazy (esbuild evaluates them on first import).
//                            CommonJS: src/cli/load-commands.ts compiles it with V8's code cache;
//   dist/vendor/execa.js     execa and its dependencies (a third of the commands' code), imported by
//                            src/util/process.ts when the first child process starts: a no-op build has none;
//   dist/vendor/kubernetes-client.cjs  @kubernetes/client-node with its dependencies, run (with the code
//                            cache) by src/kube/client.ts only for commands that talk to a cluster.
import { build } from 'esbuild';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Bundled CommonJS packages call require(); ESM output has none, so each bundle makes one.
const banner = { js: "import{createRequire as __devloopRequire}from'node:module';const require=__devloopRequire(import.meta.url);" };
// Source maps are read only with --verbose (bin/devloop.js), so stack traces name the source files.
const common = { sourcemap: true, bundle: true, minify: !process.env.DEVLOOP_BUNDLE_NO_MINIFY, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning', banner, absWorkingDir: root };

/** Keeps the commands out of `main.js` (load-commands.ts imports them so only when unbundled). */
const commandsBundle = {
  name: 'devloop-commands-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/index\.js$/ }, () => ({ path: './commands.cjs', external: true }));
  },
};

/** execa's lazy import in the commands bundle loads the separate execa bundle. */
const execaBundle = {
  name: 'devloop-execa-bundle',
  setup(b) {
    b.onResolve({ filter: /^execa$/ }, () => ({ path: '../vendor/execa.js', external: true }));
  },
};

await Promise.all([
  build({ ...common, entryPoints: [join(dist, 'cli', 'main.js')], outfile: join(dist, 'bundle', 'main.js'), plugins: [commandsBundle], define: { __DEVLOOP_BUNDLE__: 'true' } }),
  // client-node is imported at run time from dist/vendor (see src/kube/client.ts), never bundled in here.
  // CommonJS, run by load-commands.ts (which provides the file's URL for import.meta.url).
  build({
    ...common,
    format: 'cjs',
    banner: undefined,
    define: { 'import.meta.url': '__devloopUrl', __DEVLOOP_BUNDLE__: 'true' },
    entryPoints: [join(dist, 'cli', 'commands', 'index.js')],
    outfile: join(dist, 'bundle', 'commands.cjs'),
    external: ['@kubernetes/client-node'],
    plugins: [execaBundle],
  }),
  build({ ...common, entryPoints: [join(root, 'node_modules', 'execa', 'index.js')], outfile: join(dist, 'vendor', 'execa.js') }),
  // ws's optional native add-ons are absent: it falls back to JavaScript when their require() fails.
  // CommonJS too, for the code cache (src/kube/client.ts runs it through util/code-cache.ts).
  build({
    ...common,
    format: 'cjs',
    banner: undefined,
    entryPoints: [join(root, 'node_modules', '@kubernetes', 'client-node', 'dist', 'index.js')],
    outfile: join(dist, 'vendor', 'kubernetes-client.cjs'),
    external: ['bufferutil', 'utf-8-validate'],
  }),
]);

// Functions V8 restores from a code cache have lost the script's dynamic-import callback ("A dynamic
// import callback was not specified"): the commands' import() calls (the vendor bundles) become
// calls of `$dlimp`, which load-commands.ts passes in (main.js's import(), same folder). Same
// length, so the source map's columns still hold.
const commandsFile = join(dist, 'bundle', 'commands.cjs');
const commandsCode = await readFile(commandsFile, 'utf8');
let dynamicImports = 0;
const rewritten = commandsCode.replace(/(?<![\w$.])import\(/g, () => (dynamicImports++, '$dlimp('));
if (dynamicImports === 0) throw new Error('scripts/bundle.mjs: no import() found in the commands bundle; check the rewrite');
await writeFile(commandsFile, rewritten);
