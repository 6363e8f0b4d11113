/**
 * Real services the integration tests use: dockerd and a CNCF distribution registry on 127.0.0.1.
 * `.ci/run` starts both and sets DEVLOOP_TEST_REGISTRY and DEVLOOP_TEST_REQUIRE_SERVICES=1; then a
 * missing service fails the test instead of skipping it. Locally, a registry is started on demand.
 */
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, mkdir, symlink, copyFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const servicesRequired = process.env.DEVLOOP_TEST_REQUIRE_SERVICES === '1';

let dockerAnswer: boolean | undefined;
export async function dockerAvailable(): Promise<boolean> {
  if (dockerAnswer === undefined) {
    dockerAnswer = (await execa('docker', ['info'], { reject: false, timeout: 15_000 })).exitCode === 0;
    if (!dockerAnswer && servicesRequired) throw new Error('dockerd is required here (DEVLOOP_TEST_REQUIRE_SERVICES=1) but `docker info` fails');
  }
  return dockerAnswer;
}

export function registryBinaryAvailable(): boolean {
  return Boolean(process.env.DEVLOOP_TEST_REGISTRY) || existsSync('/usr/bin/docker-registry');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface StartedRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  stop(): Promise<void>;
}

/**
 * Starts a private docker-registry on a free loopback port. `extraConfig` is YAML appended to the
 * config (e.g. an `auth:` section for htpasswd or token tests).
 */
export async function startRegistry(extraConfig = ''): Promise<StartedRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-registry-'));
  const port = await freePort();
  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:${port}}\n${extraConfig}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (response.status === 200 || response.status === 401) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    host,
    stop: async () => {
      child.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The registry shared by a test run: CI's, or the one test/support/global-setup.ts started. */
export async function testRegistry(): Promise<string> {
  const host = process.env.DEVLOOP_TEST_REGISTRY;
  if (host) return host;
  if (servicesRequired) throw new Error('a registry is required here (DEVLOOP_TEST_REQUIRE_SERVICES=1) but DEVLOOP_TEST_REGISTRY is unset');
  throw new Error('no registry for tests: install docker-registry or set DEVLOOP_TEST_REGISTRY');
}

/**
 * A busybox base image made locally (no internet registry is reachable): a rootfs with the static
 * busybox and its applet links, imported with `docker import` and pushed to `registry`.
 * Returns the reference `<registry>/devloop-test/busybox:1`.
 */
export async function busyboxBaseImage(registry: string): Promise<string> {
  const ref = `${registry}/devloop-test/busybox:1`;
  const present = await fetch(`http://${registry}/v2/devloop-test/busybox/manifests/1`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  }).catch(() => undefined);
  if (present?.ok) return ref;
  const root = await mkdtemp(join(tmpdir(), 'devloop-rootfs-'));
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
  for (const applet of ['sh', 'echo', 'cat', 'tar', 'ls', 'rm', 'mkdir', 'httpd', 'sleep', 'env', 'wget', 'head']) {
    await symlink('busybox', join(root, 'bin', applet));
  }
  await execa('sh', ['-c', 'tar -C "$1" --numeric-owner --owner=0 --group=0 -c . | docker import -c "ENV PATH=/bin" - "$2"', 'sh', root, ref]);
  await rm(root, { recursive: true, force: true });
  await execa('docker', ['push', ref]);
  return ref;
}
