/** Helpers for the oci builder tests: artifacts, an event recorder, temp projects, a Go binary. */
import { execa } from 'execa';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactConfig, OciBuildConfig } from '../../src/config/types.js';
import type { DevloopEventBody } from '../../src/events/types.js';
import { ociBuilder } from '../../src/build/oci/index.js';

export function ociArtifact(image: string, context: string, oci: Partial<OciBuildConfig>): ArtifactConfig {
  return {
    image,
    context,
    sync: [],
    oci: { from: 'scratch', layers: [], entrypoint: [], cmd: [], env: {}, workdir: '', user: '', ports: [], labels: {}, platform: 'linux/amd64', compression: 'auto', gzipLevel: 6, ...oci },
  };
}

export interface BuildRun {
  digest?: string;
  events: DevloopEventBody[];
}

/** Runs the real builder with the project folder `projectDir`. */
export async function buildOci(artifact: ArtifactConfig, projectDir: string, repo: string, tag: string, push = true): Promise<BuildRun> {
  const events: DevloopEventBody[] = [];
  const { digest } = await ociBuilder.build({
    artifact,
    repo,
    tag,
    push,
    registry: { insecureRegistries: [] },
    projectDir,
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
  });
  return { digest, events };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `devloop-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function goAvailable(): Promise<boolean> {
  return (await execa('go', ['version'], { reject: false })).exitCode === 0;
}

/** Compiles a static linux/amd64 Go program printing `message` into `<dir>/bin/hello`. */
export async function compileGoHello(dir: string, message: string): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'go.mod'), 'module hello\n\ngo 1.19\n');
  await writeFile(join(src, 'main.go'), `package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(${JSON.stringify(message)}) }\n`);
  const out = join(dir, 'bin', 'hello');
  await execa('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w', '-o', out, '.'], {
    cwd: src,
    env: { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOFLAGS: '-mod=mod', GOPROXY: 'off' },
  });
  return out;
}

export async function dockerRun(ref: string, args: string[] = []): Promise<string> {
  await execa('docker', ['pull', '-q', ref]);
  const result = await execa('docker', ['run', '--rm', ref, ...args]);
  return result.stdout;
}

export async function dockerRemoveImages(refs: string[]): Promise<void> {
  if (refs.length) await execa('docker', ['rmi', '-f', ...refs], { reject: false });
}

/**
 * A minimal Node runtime rootfs: this process's node binary at /usr/local/bin/node plus the
 * shared libraries `ldd` lists, each at its own path.
 */
export async function makeNodeRootfs(root: string): Promise<void> {
  const { copyFile, realpath } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const node = await realpath(process.execPath);
  await mkdir(join(root, 'usr/local/bin'), { recursive: true });
  await copyFile(node, join(root, 'usr/local/bin/node'));
  const { stdout } = await execa('ldd', [node]);
  const libraries = [...stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
  for (const lib of libraries) {
    await mkdir(join(root, dirname(lib)), { recursive: true });
    await copyFile(lib, join(root, lib)); // follows symlinks: the real library under the linked name
  }
  await mkdir(join(root, 'tmp'), { recursive: true });
  await writeFile(join(root, 'tmp/.keep'), '');
}
