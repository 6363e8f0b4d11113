#!/usr/bin/env node
// `npm run bench`: runs every bench/<area>.mjs in turn (each prints its own numbers and ratios)
// and ends with a one-line status per script. Each script is bounded; this runner bounds them again.
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
// The manual flow runs inside the benches that compare against it (rebuild, live-update): on its own only when named.
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => (only.length === 0 ? f !== 'manual-flow.mjs' : only.some((o) => f.startsWith(o))))
  .sort();
const LIMIT_MS = 10 * 60_000;

const results = [];
for (const script of scripts) {
  console.log(`\n=== bench/${script}`);
  const started = Date.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, script)], { stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve(status ?? 1);
    });
  });
  results.push({ script, code, seconds: ((Date.now() - started) / 1000).toFixed(1) });
}
console.log('\n=== summary');
for (const r of results) console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'} bench/${r.script} (${r.seconds}s)`);
process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
