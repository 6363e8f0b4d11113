#!/usr/bin/env node
// Benchmark (issue 11): the example app of the daemonless builder (examples/hello-oci: a static Go
// server on `scratch`, ~4 MB binary layer + public/ layer). After a one-line change to main.go:
//   devloop: the whole `devloop build` (wall time of the CLI) minus its compile stage;
//   docker:  `docker build && docker push` of the same files (the binary devloop just compiled and
//            public/, with an equivalent Dockerfile), into the same registry.
// Both push to a private docker-registry on 127.0.0.1 (a loopback registry: `compression: auto` means
// uncompressed layers there). Prints each side's breakdown and the ratio (target ≤ 0.30×).
// Needs `npm run build`, dockerd, go and /usr/bin/docker-registry. Bounded: a few iterations, every
// command with a timeout; cleans up its registry, temp folder and images.
//   node bench/oci.mjs [--iterations 5] [--compression auto|gzip|none]
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchEnv, cli, median, repoRoot, requireDist, run, startRegistry, startWatchdog, timed } from './_support.mjs';

const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const iterations = Number(arg('--iterations', 5));
const compression = arg('--compression', undefined);
requireDist('oci');

const work = await mkdtemp(join(tmpdir(), 'devloop-bench-oci-'));
const images = [];
let registry;
const stopWatchdog = startWatchdog('oci', 6, cleanup);
const ms = (x) => `${Math.round(x)} ms`;

try {
  registry = await startRegistry();
  const host = registry.host;
  const project = join(work, 'hello-oci');
  await cp(join(repoRoot, 'examples', 'hello-oci'), project, { recursive: true, filter: (s) => !/[/\\](bin|\.devloop)$/.test(s) });
  if (compression) {
    const config = join(project, 'devloop.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('from: scratch', `from: scratch\n        compression: ${compression}`));
  }
  const env = benchEnv({ DEVLOOP_DEFAULT_REPO: `${host}/bench` });
  const app = join(project, 'app');
  const mainGo = join(app, 'main.go');
  const original = await readFile(mainGo, 'utf8');
  const edit = (stamp) => writeFile(mainGo, original.replace(/const greeting = "([^"]*)"/, `const greeting = "$1 ${stamp}"`));

  // The docker side builds the same files: the compiled binary and public/.
  await writeFile(join(app, 'Dockerfile.bench'), 'FROM scratch\nCOPY bin/hello-oci /app/hello-oci\nCOPY public /app/public\nENV PORT=8080\nEXPOSE 8080\nENTRYPOINT ["/app/hello-oci"]\n');
  await writeFile(join(app, '.dockerignore'), '*\n!bin/hello-oci\n!public\n');
  const dockerRepo = `${host}/bench/hello-oci-docker`;
  const dockerBuildPush = async (tag) => {
    images.push(`${dockerRepo}:${tag}`);
    const build = await timed(() => run('docker', ['build', '-q', '-f', join(app, 'Dockerfile.bench'), '-t', `${dockerRepo}:${tag}`, app], { timeout: 120_000 }));
    const push = await timed(() => run('docker', ['push', `${dockerRepo}:${tag}`], { timeout: 120_000 }));
    return { build, push, total: build + push };
  };

  const devloopBuild = async () => {
    const started = performance.now();
    const { stdout } = await run('node', [cli, 'build', '-o', 'json', '--skip-preflight'], { cwd: project, env, timeout: 180_000 });
    const wall = performance.now() - started;
    const stages = {};
    for (const line of stdout.split('\n').filter(Boolean)) {
      const e = JSON.parse(line);
      if (e.type === 'stage' && e.status === 'end') stages[e.stage] = e.durationMs;
    }
    return { wall, compile: stages.compile ?? 0, build: stages.build ?? 0, push: stages.push ?? 0, withoutCompile: wall - (stages.compile ?? 0) };
  };

  // Warm-up: both sides have pushed the unchanged layers once; Go's and Docker's caches are warm.
  await edit('warm');
  await devloopBuild();
  await dockerBuildPush('warm');

  const ours = [];
  const docker = [];
  for (let i = 0; i < iterations; i++) {
    await edit(`${Date.now()}-${i}`);
    ours.push(await devloopBuild()); // compiles the binary the docker side then packs too
    docker.push(await dockerBuildPush(`i${i}`));
  }
  const pick = (rows, key) => median(rows.map((r) => r[key]));
  const o = pick(ours, 'withoutCompile');
  const d = pick(docker, 'total');
  console.log(`examples/hello-oci, one line of main.go changed (${iterations} iterations, medians; compression ${compression ?? 'auto (loopback registry: none)'})`);
  console.log(`  devloop build minus compile: ${ms(o)}   [${ours.map((r) => Math.round(r.withoutCompile)).join(', ')}]`);
  console.log(`    wall ${ms(pick(ours, 'wall'))} = compile ${ms(pick(ours, 'compile'))} + build stage ${ms(pick(ours, 'build'))} + push stage ${ms(pick(ours, 'push'))} + node start-up, config, inputs (rest)`);
  console.log(`  docker build && docker push: ${ms(d)}   [${docker.map((r) => Math.round(r.total)).join(', ')}]   (build ${ms(pick(docker, 'build'))} + push ${ms(pick(docker, 'push'))})`);
  console.log(`  ratio devloop/docker: ${(o / d).toFixed(2)}x   (target <= 0.30x)`);
} finally {
  await cleanup();
  stopWatchdog();
}

async function cleanup() {
  await registry?.stop();
  if (images.length) await run('docker', ['rmi', '-f', ...new Set(images)], { timeout: 60_000 }).catch(() => {});
  await rm(work, { recursive: true, force: true });
}
