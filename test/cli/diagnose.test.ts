import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initProject } from '../../src/cli/commands/init.js';
import { freePort } from '../support/services.js';
import { devloop, ensureBuilt } from './helpers.js';

let dir: string;
let registry: Server;
let registryPort: number;
let deadPort: number;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  dir = join(await mkdtemp(join(tmpdir(), 'devloop-diag-')), 'shop');
  await mkdir(dir);
  await initProject(dir, { template: 'go' });
  // A registry stand-in that wants auth: 401 on /v2/ counts as "answers".
  registry = createServer((req, res) => {
    res.statusCode = req.url === '/v2/' ? 401 : 404;
    res.end();
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  registryPort = (registry.address() as { port: number }).port;
  deadPort = await freePort();
  const config = (await readFile(join(dir, 'devloop.yaml'), 'utf8'))
    .replace('defaultRepo: ""', `defaultRepo: 127.0.0.1:${registryPort}`)
    .replace('profiles:\n', `profiles:\n  - name: other\n    activation: [{command: diagnose}]\n    patches:\n      - {op: add, path: /build/artifacts/-, value: {image: "127.0.0.1:${deadPort}/other", context: other}}\n`);
  await writeFile(join(dir, 'devloop.yaml'), config);
  await mkdir(join(dir, 'other'));
  await writeFile(join(dir, 'other', 'Dockerfile'), 'FROM scratch\n');
  const kubeconfig = join(dir, '..', 'kubeconfig');
  await writeFile(
    kubeconfig,
    'apiVersion: v1\nkind: Config\ncurrent-context: kind-shop\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: kind-shop, context: {cluster: c, user: u, namespace: dev}}]\nusers: [{name: u, user: {}}]\n',
  );
  env = { KUBECONFIG: kubeconfig, DOCKER_HOST: `tcp://127.0.0.1:${deadPort}` };
}, 120_000);

afterAll(async () => {
  registry?.close();
  await rm(join(dir, '..'), { recursive: true, force: true });
});

describe('devloop diagnose', () => {
  test('--output json emits one diagnose event; down services are reported, not failures', async () => {
    const result = await devloop(['-o', 'json', 'diagnose'], dir, env);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!);
    expect(event).toMatchObject({
      type: 'diagnose',
      configFile: join(dir, 'devloop.yaml'),
      activeProfiles: ['other'],
      kube: { context: 'kind-shop', server: 'https://127.0.0.1:6443', namespace: 'dev' },
      docker: { ok: false },
      registries: [
        { host: `127.0.0.1:${registryPort}`, ok: true, status: 401 },
        { host: `127.0.0.1:${deadPort}`, ok: false },
      ],
    });
    expect(event.time).toEqual(expect.any(String));
    expect(event.config.build.defaultRepo).toBe(`127.0.0.1:${registryPort}`);
    expect(event.config.deploy.statusCheck.timeout).toBe(120_000);
    expect(event.artifacts).toEqual([
      { image: 'shop', builder: 'docker', context: dir, inputFiles: expect.any(Number), hashMs: expect.any(Number), digest: expect.stringMatching(/^sha256:/) },
      { image: `127.0.0.1:${deadPort}/other`, builder: 'docker', context: join(dir, 'other'), inputFiles: 1, hashMs: expect.any(Number), digest: expect.stringMatching(/^sha256:/) },
    ]);
    // main.go, go.mod, Dockerfile, .dockerignore… at least the sources are inputs
    expect(event.artifacts[0].inputFiles).toBeGreaterThanOrEqual(2);
  });

  test('the terminal view is readable and includes the effective config as YAML', async () => {
    const result = await devloop(['diagnose', '--kube-context', 'kind-shop'], dir, env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('  kube context  kind-shop (server https://127.0.0.1:6443, namespace dev)');
    expect(result.stdout).toContain(`  registry      127.0.0.1:${registryPort} ✓ answers (HTTP 401)`);
    expect(result.stdout).toContain(`  registry      127.0.0.1:${deadPort} ✗ does not answer`);
    expect(result.stdout).toMatch(/ {2}docker {8}✗ does not answer/);
    expect(result.stdout).toContain('  profiles      other');
    expect(result.stdout).toContain('      timeout: 2m');
    expect(result.stdout).toMatch(/ {2}shop {2}docker {2}\S+\n {4}\d+ input files, hashed in \d+ms/);
  });

  test('an unknown kube context is reported as none', async () => {
    const result = await devloop(['-o', 'json', 'diagnose', '--kube-context', 'nope'], dir, env);
    expect(result.exitCode).toBe(0);
    const event = JSON.parse(result.stdout);
    expect(event.kube).toBeNull();
    expect(event.kubeError).toBe('kube context "nope" is not in the kubeconfig');
  });

  test('a bad config exits 2', async () => {
    const result = await devloop(['diagnose', '-f', 'nope.yaml'], dir, env);
    expect(result.exitCode).toBe(2);
  });
});
