/** A copy of the example project for the run/deploy CLI tests; the CLI runs through test/support/cli.ts. */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/cli.js';

export { CLI, ROOT, devloop, type CliRun } from '../support/cli.js';

/** A temp folder holding devloop.yaml and examples/hello, like the repository root. */
export async function copyExampleProject(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-run-'));
  await cp(join(ROOT, 'devloop.yaml'), join(dir, 'devloop.yaml'));
  await cp(join(ROOT, 'examples', 'hello'), join(dir, 'examples', 'hello'), {
    recursive: true,
    filter: (source) => !/[/\\](bin|\.devloop)$/.test(source),
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

