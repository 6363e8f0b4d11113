/**
 * Everything a command needs once it runs, behind one import: `main.ts` loads this module lazily, so
 * `devloop --help` loads commander alone, and the bundled CLI (scripts/bundle.mjs) is two files, not dozens.
 */
export { runCommand } from '../context.js';
export { build } from './build.js';
export { deleteDeployed } from './delete.js';
export { deploy } from './deploy.js';
export { dev } from './dev.js';
export { diagnose } from './diagnose.js';
export { init } from './init.js';
export { render } from './render.js';
export { run } from './run.js';
