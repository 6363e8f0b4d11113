import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { devloop, ensureBuilt } from '../cli/helpers.js';

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'devloop-cli-ui-'));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('devloop dev --ui-port', () => {
  test('a value that is not a port: exit 2, one line and a hint, before anything starts', async () => {
    const result = await devloop(['dev', '--ui-port', '80a'], dir);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('error: --ui-port "80a" is not a port number\n  hint: e.g. --ui-port 7070 (1-65535), or leave it out for a free port');
  });
});
