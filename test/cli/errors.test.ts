import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { devloop, ensureBuilt } from './helpers.js';

let dir: string;
const bad = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: x}\nbuild:\n  artifacts:\n    - image: a\n      contxt: .\n';

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'devloop-cli-'));
  await writeFile(join(dir, 'bad.yaml'), bad);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('config errors on the command line', () => {
  test('a bad config exits 2 with one error line and a hint, no stack', async () => {
    const result = await devloop(['build', '-f', 'bad.yaml'], dir);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      'error: bad.yaml:7:7: build.artifacts[0].contxt: unknown key, did you mean `context`?',
      '  hint: known keys here: image, context, compile, docker, oci, custom, sync, hooks',
    ]);
  });

  test('--verbose adds the stack', async () => {
    const result = await devloop(['build', '-f', 'bad.yaml', '--verbose'], dir);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/\n\s+at /);
  });

  test('a missing config file names it and suggests devloop init', async () => {
    const result = await devloop(['render', '-f', 'missing.yaml'], dir);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('error: missing.yaml: config file not found\n  hint: run `devloop init` to create one, or pass -f FILE');
  });

  test('--output json prints only JSON lines, each with a time', async () => {
    const result = await devloop(['-o', 'json', 'build', '-f', 'bad.yaml'], dir);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('');
    const events = result.stdout.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual([
      {
        type: 'error',
        code: 'CONFIG_INVALID',
        message: 'bad.yaml:7:7: build.artifacts[0].contxt: unknown key, did you mean `context`?',
        hint: 'known keys here: image, context, compile, docker, oci, custom, sync, hooks',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    ]);
  });

  test('an unknown command is a usage error (exit 2); --help lists the commands and exits 0', async () => {
    const unknown = await devloop(['bogus'], dir);
    expect(unknown.exitCode).toBe(2);
    const help = await devloop(['--help'], dir);
    expect(help.exitCode).toBe(0);
    for (const command of ['init', 'diagnose', 'build', 'render', 'deploy', 'run', 'dev', 'delete']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });
});
