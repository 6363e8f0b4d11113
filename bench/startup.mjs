#!/usr/bin/env node
// Startup cost of the CLI: wall time of `node bin/devloop.js --help` over 20 runs (after 2 warm-ups),
// compared with a bare `node -e ""` on the same machine, runs interleaved so load swings hit both alike.
// Target (issue 11): the median within 30 ms of bare node's.
// Runs against dist/ (npm run build first). Bounded: at most ~22 process starts, 10 s timeout each.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/devloop.js', import.meta.url));
if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)))) {
  console.error('bench/startup: dist/ is missing; run `npm run build` first');
  process.exit(2);
}

const RUNS = 20;
const TARGET_OVER_BARE_MS = 30;

function time(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'ignore', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p90: at(0.9), min: sorted[0] };
}

const helpArgs = [bin, '--help'];
const bareArgs = ['-e', ''];
for (let i = 0; i < 2; i++) time(helpArgs), time(bareArgs);
const helpRuns = [];
const bareRuns = [];
for (let i = 0; i < RUNS; i++) {
  helpRuns.push(time(helpArgs));
  bareRuns.push(time(bareArgs));
}
const help = stats(helpRuns);
const bare = stats(bareRuns);
const fmt = (n) => `${n.toFixed(1)} ms`;
console.log(`devloop --help   median ${fmt(help.median)}  p90 ${fmt(help.p90)}  min ${fmt(help.min)}  (${RUNS} runs)`);
console.log(`node -e ""       median ${fmt(bare.median)}  p90 ${fmt(bare.p90)}  min ${fmt(bare.min)}`);
console.log(`overhead over bare node: ${fmt(help.median - bare.median)} (ratio ${(help.median / bare.median).toFixed(2)}x)`);
console.log(`target: within ${TARGET_OVER_BARE_MS} ms of bare node: ${help.median - bare.median <= TARGET_OVER_BARE_MS ? 'met' : 'NOT met'}`);
