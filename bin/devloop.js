#!/usr/bin/env node
// Thin launcher: the bundled CLI lives in dist/bundle (npm run build; see scripts/bundle.mjs).
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code between runs; Node 20 has no such cache (nothing to enable).
module.enableCompileCache?.();
// Stack traces (printed with --verbose only) name the source files; reading the maps costs start-up time otherwise.
if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true);
import('../dist/bundle/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/bundle/main.js')) {
    console.error('devloop: not built yet — hint: run `npm run build` first');
    process.exit(2);
  }
  throw error;
});
