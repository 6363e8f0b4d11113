// Bundles the CLI after `tsc` (run by `npm run build`). Node spends most of a short command's time
// resolving and loading modules one file at a time, so bin/devloop.js runs four bundles instead:
//   dist/bundle/main.js      the commander wiring (all `devloop --help` loads);
//   dist/bundle/commands.cjs every command and what it imports (yaml, chokidar, …), run by
//                            src/cli/load-commands.ts once a command runs; modules imported lazily stay lazy
//                            (esbuild evaluates them on first import);
//   dist/vendor/execa.cjs    execa and its dependencies, run by src/util/process.ts when the first child
//                            process starts: a no-op build has none;
//   dist/vendor/kubernetes-client.cjs  @kubernetes/client-node with its dependencies, run by src/kube/client.ts
//                            only for commands that talk to a cluster.
// The .cjs bundles run with V8's code cache (src/util/bundled.ts, code-cache.ts).
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
/** The bundles util/code-cache.ts runs: CommonJS (it provides require() and, for import.meta.url, the file's URL). */
const cjs = { ...common, format: 'cjs', banner: undefined };

/** Keeps the commands out of `main.js` (load-commands.ts imports them so only when unbundled). */
const commandsBundle = {
  name: 'devloop-commands-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/index\.js$/ }, () => ({ path: './commands.cjs', external: true }));
  },
};

/** Keeps execa out of the commands bundle (util/process.ts runs its own bundle, util/bundled.ts). */
const execaBundle = {
  name: 'devloop-execa-bundle',
  setup(b) {
    b.onResolve({ filter: /^execa$/ }, () => ({ path: '../vendor/execa.cjs', external: true }));
  },
};

await Promise.all([
  build({ ...common, entryPoints: [join(dist, 'cli', 'main.js')], outfile: join(dist, 'bundle', 'main.js'), plugins: [commandsBundle], define: { __DEVLOOP_BUNDLE__: 'true' } }),
  // client-node and execa run from their own bundles (dist/vendor), never bundled in here.
  build({
    ...cjs,
    define: { 'import.meta.url': '__devloopUrl', __DEVLOOP_BUNDLE__: 'true' },
    entryPoints: [join(dist, 'cli', 'commands', 'index.js')],
    outfile: join(dist, 'bundle', 'commands.cjs'),
    external: ['@kubernetes/client-node'],
    plugins: [execaBundle],
  }),
  build({ ...cjs, entryPoints: [join(root, 'node_modules', 'execa', 'index.js')], outfile: join(dist, 'vendor', 'execa.cjs') }),
  // ws's optional native add-ons are absent: it falls back to JavaScript when their require() fails.
  build({
    ...cjs,
    entryPoints: [join(root, 'node_modules', '@kubernetes', 'client-node', 'dist', 'index.js')],
    outfile: join(dist, 'vendor', 'kubernetes-client.cjs'),
    external: ['bufferutil', 'utf-8-validate'],
  }),
]);

// Functions V8 restores from a code cache have lost the script's dynamic-import callback ("A dynamic
// import callback was not specified"): the commands' import() calls (node:https; the bundles' own
// loaders) become calls of `$dlimp`, which util/code-cache.ts passes in. Same length, so the source
// map's columns still hold.
const commandsFile = join(dist, 'bundle', 'commands.cjs');
const commandsCode = await readFile(commandsFile, 'utf8');
let dynamicImports = 0;
const rewritten = commandsCode.replace(/(?<![\w$.])import\(/g, () => (dynamicImports++, '$dlimp('));
if (dynamicImports === 0) throw new Error('scripts/bundle.mjs: no import() found in the commands bundle; check the rewrite');
await writeFile(commandsFile, rewritten);
