/**
 * Fault: sync rules that reach outside the artifact context (`../**`, `/etc/**`) or write through
 * `..` in the container are config errors with file:line and exit 2 — not accepted and refused later.
 */
import { describe, expect, test } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\nbuild:\n  artifacts:\n    - image: a\n      sync:\n';

async function errorOf(rule: string): Promise<ConfigError | undefined> {
  try {
    await loadConfigText(`${head}        - ${rule}\n`, { file: '/tmp/devloop-test/devloop.yaml', displayName: 'devloop.yaml', profiles: [], command: 'build', overrides: {}, env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return undefined;
}

describe('sync paths in devloop.yaml', () => {
  test.each([
    ['{src: "../**", dest: /app}', 'devloop.yaml:8:17: build.artifacts[0].sync[0].src: "../**" is outside the artifact context'],
    ['{src: "public/../../secret/*", dest: /app}', 'devloop.yaml:8:17: build.artifacts[0].sync[0].src: "public/../../secret/*" is outside the artifact context'],
    ['{src: "/etc/**", dest: /app}', 'devloop.yaml:8:17: build.artifacts[0].sync[0].src: must be relative to the artifact context, got "/etc/**"'],
    ['{src: "public/**", dest: /app/../etc}', 'devloop.yaml:8:36: build.artifacts[0].sync[0].dest: must not contain "." or ".." segments, got "/app/../etc"'],
  ])('%s', async (rule, expected) => {
    const error = await errorOf(rule);
    expect(error?.exitCode).toBe(2);
    expect(error?.message.split('\n')[0]).toBe(expected);
  });

  test('paths that stay inside are accepted', async () => {
    expect(await errorOf('{src: "public/../public/**", dest: /app/public}')).toBeUndefined();
    expect(await errorOf('{src: "**/*.css", dest: /}')).toBeUndefined();
  });
});
