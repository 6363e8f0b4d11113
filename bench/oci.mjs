#!/usr/bin/env node
// Benchmark: one-file change → image rebuilt and pushed.
// Daemonless devloop oci builder vs `docker build && docker push` of the same image (an equivalent
// Dockerfile), in the same run, against a private docker-registry on 127.0.0.1.
// Needs `npm run build` (imports dist/), dockerd and /usr/bin/docker-registry. Bounded: a few
// iterations, every command with a timeout; cleans up its registry, temp folder and images.
//   node bench/oci.mjs [--iterations 5]
import { mkdtemp, mkdir, writeFile, rm, copyFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { importDist, median, requireDist, run, startRegistry, startWatchdog, timed } from './_support.mjs';

const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1]) || 5;
requireDist('oci');
const { buildOciImage } = await importDist('build/oci/index.js');

const work = await mkdtemp(join(tmpdir(), 'devloop-bench-oci-'));
const images = [];
let registry;
const stopWatchdog = startWatchdog('oci', 5, cleanup);

try {
  registry = await startRegistry();
  const host = registry.host;
  // Base: a busybox rootfs, built and pushed daemonlessly (no internet registry is reachable).
  const baseCtx = join(work, 'base');
  await mkdir(join(baseCtx, 'rootfs/bin'), { recursive: true });
  await copyFile('/bin/busybox', join(baseCtx, 'rootfs/bin/busybox'));
  await symlink('busybox', join(baseCtx, 'rootfs/bin/sh'));
  await build(artifact('base', baseCtx, { layers: [{ from: 'rootfs', to: '/' }], env: { PATH: '/bin' } }), `${host}/bench/base`, '1');

  // The app: a 16 MiB dependency folder (changes rarely) and a few source files (change often).
  const app = join(work, 'app');
  await mkdir(join(app, 'node_modules/dep'), { recursive: true });
  await mkdir(join(app, 'src'), { recursive: true });
  for (let i = 0; i < 8; i++) await writeFile(join(app, `node_modules/dep/chunk${i}.bin`), randomBytes(2 * 1024 * 1024));
  for (let i = 0; i < 20; i++) await writeFile(join(app, `src/module${i}.js`), `export const n = ${i};\n`.repeat(200));
  await writeFile(join(app, '.dockerignore'), 'Dockerfile\n.devloop\n');
  await writeFile(
    join(app, 'Dockerfile'),
    `FROM ${host}/bench/base:1\nCOPY node_modules /app/node_modules\nCOPY src /app/src\nWORKDIR /app\nENTRYPOINT ["/bin/sh"]\n`,
  );
  const ociApp = artifact('app', app, {
    from: `${host}/bench/base:1`,
    layers: [
      { from: 'node_modules', to: '/app/node_modules' },
      { from: 'src', to: '/app/src' },
    ],
    workdir: '/app',
    entrypoint: ['/bin/sh'],
  });
  const dockerRepo = `${host}/bench/app-docker`;
  images.push(`${dockerRepo}:warm`, `${host}/bench/base:1`);
  const dockerBuildPush = async (tag) => {
    images.push(`${dockerRepo}:${tag}`);
    await run('docker', ['build', '-q', '-t', `${dockerRepo}:${tag}`, app], { timeout: 120_000 });
    await run('docker', ['push', `${dockerRepo}:${tag}`], { timeout: 120_000 });
  };

  // Warm-up: both sides have pushed the unchanged layers once and have their caches filled.
  await build(ociApp, `${host}/bench/app-oci`, 'warm');
  await dockerBuildPush('warm');

  const oci = [];
  const docker = [];
  for (let i = 0; i < iterations; i++) {
    await writeFile(join(app, 'src/module0.js'), `export const n = ${Date.now()}; // oci ${i}\n`);
    oci.push(await timed(() => build(ociApp, `${host}/bench/app-oci`, `i${i}`)));
    await writeFile(join(app, 'src/module0.js'), `export const n = ${Date.now()}; // docker ${i}\n`);
    docker.push(await timed(() => dockerBuildPush(`i${i}`)));
  }
  const o = median(oci);
  const d = median(docker);
  console.log(`one-file change → rebuilt and pushed (${iterations} iterations, median; 16 MiB deps layer + 20-file src layer on a busybox base)`);
  console.log(`  devloop oci (daemonless):   ${o.toFixed(0)} ms   [${oci.map((t) => t.toFixed(0)).join(', ')}]`);
  console.log(`  docker build && docker push: ${d.toFixed(0)} ms   [${docker.map((t) => t.toFixed(0)).join(', ')}]`);
  console.log(`  ratio oci/docker: ${(o / d).toFixed(2)}x   (target <= 0.30x)`);
} finally {
  await cleanup();
  stopWatchdog();
}

function artifact(image, context, oci) {
  return {
    image,
    context,
    sync: [],
    oci: { from: 'scratch', layers: [], entrypoint: [], cmd: [], env: {}, workdir: '', user: '', ports: [], labels: {}, platform: 'linux/amd64', ...oci },
  };
}

async function build(artifact, repo, tag) {
  const { digest } = await buildOciImage({
    artifact,
    repo,
    tag,
    push: true,
    registry: { insecureRegistries: [] },
    projectDir: artifact.context,
    emit: () => {},
    signal: AbortSignal.timeout(120_000),
  });
  return digest;
}

async function cleanup() {
  await registry?.stop();
  if (images.length) await run('docker', ['rmi', '-f', ...new Set(images)], { timeout: 60_000 }).catch(() => {});
  await rm(work, { recursive: true, force: true });
}
