/**
 * Issue 14 case 3: a few hundred bytes of nested YAML aliases ("alias bomb") in devloop.yaml made
 * `diagnose` run for minutes and die out of memory. The config loader (also used by the config reload
 * in `dev`) must refuse it quickly, with exit 2 and file:line, like manifests do.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { parseManifests } from '../../src/render/parse.js';
import { ConfigError, DevloopError } from '../../src/errors.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devloop, ensureBuilt } from '../cli/helpers.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { startFakeKube } from '../support/fake-kube/index.js';
import { startDev } from '../dev/harness.js';

/** Nine levels of nine aliases each: 9^9 (387 million) strings once expanded. */
function bomb(firstLine: number): { text: string; line: number } {
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    previous = name;
  }
  // Expansion starts at "c" (the first level whose aliases hold aliases); the budget runs out inside "c".
  return { text: `${lines.join('\n')}\n`, line: firstLine + 2 };
}

const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\n';

describe('YAML alias bomb', () => {
  beforeAll(ensureBuilt);
  afterAll(removeTemps);

  test('the config loader refuses it fast with file:line (exit code 2)', async () => {
    const { text } = bomb(4);
    const started = Date.now();
    const error = await loadConfigText(`${head}x-anchors:\n${text.replace(/^/gm, '  ').trimEnd()}\n`, {
      file: '/tmp/devloop-test/devloop.yaml',
      displayName: 'devloop.yaml',
      profiles: [],
      command: 'dev',
      overrides: {},
      env: {},
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).message).toMatch(/^devloop\.yaml:\d+:\d+: x-anchors\.\w+(\[\d+\])*: excessive alias count/);
  });

  test('manifests refuse it with a typed error, not an internal one', () => {
    const { text } = bomb(3);
    let error: unknown;
    try {
      parseManifests(`apiVersion: v1\nkind: ConfigMap\n${text}`, 'k8s/bomb.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DevloopError);
    expect((error as DevloopError).message).toMatch(/^k8s\/bomb\.yaml:1: invalid YAML: Excessive alias count/);
  });

  test('the CLI exits 2 within seconds naming devloop.yaml and the line', async () => {
    const { text } = bomb(4);
    const dir = await tempTree('devloop-faults-bomb-', { 'devloop.yaml': `${head}${text}` });
    const started = Date.now();
    const result = await devloop(['diagnose'], dir, { KUBECONFIG: '/nonexistent' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/devloop\.yaml:\d+:\d+: \w+(\[\d+\])*: excessive alias count/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('`dev` refuses it on reload, keeps the previous config running, and still stops cleanly', async () => {
    const fake = await startFakeKube();
    const config = `${head}manifests: [k8s/*.yaml]\n`;
    const dir = await tempTree('devloop-faults-bomb-dev-', {
      'devloop.yaml': config,
      'k8s/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: "1"}\n',
    });
    const dev = startDev({ dir, env: { ...process.env, KUBECONFIG: fake.kubeconfigPath, NO_COLOR: '1' } }, ['--debounce', '100']);
    try {
      await dev.waitFor((e) => e.type === 'iteration' && e.status === 'ok' && e.n === 1, 30_000);
      const from = dev.events.length;
      await writeFile(join(dir, 'devloop.yaml'), `${config}${bomb(5).text}`);
      const error = await dev.waitFor((e) => e.type === 'error', 15_000, from);
      expect(error.message).toMatch(/^devloop\.yaml is invalid, still running the previous config: devloop\.yaml:\d+:\d+: \w+(\[\d+\])*: excessive alias count/);
      expect(dev.child.exitCode).toBeNull(); // still running, on the previous config
      dev.child.kill('SIGTERM');
      expect(await dev.exited).not.toBeNull();
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
      await fake.stop();
    }
  });
});
