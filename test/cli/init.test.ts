import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfigForCommand } from '../../src/config/load.js';
import { initProject, renderTemplate, targetPath } from '../../src/cli/commands/init.js';
import { devloop, ensureBuilt } from './helpers.js';

let root: string;

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'devloop-init-'));
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const load = (cwd: string) => loadConfigForCommand({ file: 'devloop.yaml', cwd, profiles: [], command: 'run', overrides: {}, env: {} });

describe('devloop init', () => {
  test.each([
    ['go', ['main.go', 'go.mod', 'Dockerfile', '.dockerignore', '.gitignore', 'k8s/deployment.yaml', 'k8s/service.yaml', 'devloop.yaml']],
    ['node', ['server.js', 'package.json', 'public/index.html', 'Dockerfile', '.dockerignore', 'k8s/deployment.yaml', 'k8s/service.yaml', 'devloop.yaml']],
  ])('--template %s in an empty folder writes a project whose config validates', async (template, expected) => {
    const dir = join(root, `My_${template}.App`);
    await mkdir(dir);
    const result = await devloop(['init', '--template', template], dir);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain(`created the ${template} starter "my-${template}-app"`);
    for (const file of expected) expect(existsSync(join(dir, file)), file).toBe(true);

    const loaded = await load(dir);
    expect(loaded.config.metadata.name).toBe(`my-${template}-app`);
    expect(loaded.config.build.artifacts).toHaveLength(1);
    expect(loaded.config.build.artifacts[0]!.image).toBe(`my-${template}-app`);
    expect(loaded.config.build.artifacts[0]!.context).toBe(dir);
    expect(loaded.config.build.artifacts[0]!.docker?.dockerfile).toBe('Dockerfile');
    const deployment = await readFile(join(dir, 'k8s/deployment.yaml'), 'utf8');
    expect(deployment).toContain(`image: my-${template}-app`);
    expect(deployment).not.toContain('__NAME__');
  });

  test('refuses to overwrite without --force, listing what exists (exit 2); --force overwrites', async () => {
    const dir = join(root, 'taken');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), 'FROM mine\n');
    await writeFile(join(dir, 'devloop.yaml'), 'mine\n');
    const refused = await devloop(['init'], dir);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(
      'error: init would overwrite devloop.yaml, Dockerfile; nothing was written\n  hint: pass --force to overwrite them, or run init in an empty folder',
    );
    expect(existsSync(join(dir, 'main.go'))).toBe(false);
    expect(await readFile(join(dir, 'Dockerfile'), 'utf8')).toBe('FROM mine\n');

    const forced = await devloop(['init', '--force'], dir);
    expect(forced.exitCode).toBe(0);
    expect(await readFile(join(dir, 'Dockerfile'), 'utf8')).toContain('ARG BASE=scratch');
    await expect(load(dir)).resolves.toBeDefined();
  });

  test('the go starter live-updates its binary in dev (a base with a shell), and stays on scratch for run', async () => {
    const dir = join(root, 'live-go');
    await mkdir(dir, { recursive: true });
    expect((await devloop(['init', '--template', 'go'], dir)).exitCode).toBe(0);
    const forCommand = (command: string) => loadConfigForCommand({ file: 'devloop.yaml', cwd: dir, profiles: [], command, overrides: {}, env: {} });
    const dev = (await forCommand('dev')).config.build.artifacts[0]!;
    expect(dev.sync).toEqual([{ src: 'bin/app', dest: '/app', restart: true }]);
    expect(dev.docker!.buildArgs).toEqual({ BASE: 'busybox:1.36' });
    expect((await forCommand('run')).config.build.artifacts[0]!.docker!.buildArgs).toEqual({});
    // The binary the restart rule copies is the one the image runs.
    expect(await readFile(join(dir, 'Dockerfile'), 'utf8')).toContain('COPY --chown=65532:65532 bin/app /app/app');
  });

  test('the node starter syncs public/ and live-updates server.js, into a folder its user owns', async () => {
    const dir = join(root, 'live-node');
    await mkdir(dir, { recursive: true });
    expect((await devloop(['init', '--template', 'node'], dir)).exitCode).toBe(0);
    const dev = (await loadConfigForCommand({ file: 'devloop.yaml', cwd: dir, profiles: [], command: 'dev', overrides: {}, env: {} })).config.build.artifacts[0]!;
    expect(dev.sync).toEqual([
      { src: 'public/**', dest: '/app/public', restart: false },
      { src: 'server.js', dest: '/app', restart: true },
    ]);
    // The copy runs as the server's user (node): /app and the files in it must be its own.
    const dockerfile = await readFile(join(dir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('RUN chown node:node /app');
    expect(dockerfile).toContain('COPY --chown=node:node package.json server.js ./');
    expect(dockerfile).toMatch(/USER node\nCMD \["node", "server.js"\]/);
  });

  test('an unknown template is a usage error', async () => {
    const result = await devloop(['init', '--template', 'rust'], root);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("argument 'rust' is invalid");
  });

  test('templates are rendered with the name and dotfiles restored', () => {
    expect(targetPath('_gitignore')).toBe('.gitignore');
    expect(targetPath('k8s/service.yaml')).toBe('k8s/service.yaml');
    expect(renderTemplate([{ path: '_dockerignore', content: 'x __NAME__ __NAME__' }], 'app')).toEqual([{ path: '.dockerignore', content: 'x app app' }]);
  });

  test('a folder name with nothing DNS-safe falls back to "app"', async () => {
    const dir = join(root, '___');
    await mkdir(dir);
    const { name } = await initProject(dir, { template: 'node' });
    expect(name).toBe('app');
    expect((await load(dir)).config.metadata.name).toBe('app');
  });
});
