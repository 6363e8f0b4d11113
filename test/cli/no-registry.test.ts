import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devloop, ensureBuilt } from './helpers.js';

describe('devloop build without a registry to push to', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'devloop-noreg-'));
    await mkdir(join(dir, 'app'));
    await writeFile(join(dir, 'app', 'Dockerfile'), 'FROM scratch\n');
    await writeFile(
      join(dir, 'devloop.yaml'),
      'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: noreg}\nbuild:\n  push: true\n  artifacts:\n    - image: web\n      context: app\n      compile: {command: [sh, -c, "echo compiled"]}\nmanifests: []\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails before compiling, naming the artifact and how to set a registry', async () => {
    const result = await devloop(['build', '--output', 'json'], dir, { KUBECONFIG: join(dir, 'none') });
    expect(result.exitCode).toBe(1);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.some((e) => e.type === 'stage' && e.stage === 'compile')).toBe(false);
    const error = events.find((e) => e.type === 'error' && e.code === 'NO_REGISTRY');
    expect(error?.artifact).toBe('web');
    expect(String(error?.hint)).toContain('DEVLOOP_DEFAULT_REPO');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
