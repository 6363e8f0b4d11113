/**
 * The pre-flight from the command line: with no cluster or no registry, `run` and `build` fail
 * before compiling (the compile here would take 60 s), in about a second, with one line and a
 * hint; commands that do not need what is missing go on.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/services.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { devloop, ensureBuilt } from './helpers.js';

let dir: string;
let home: string;
let fake: FakeKube;
let closedRegistry: string;

const config = (push: string, repo: string) =>
  `apiVersion: devloop/v1\nkind: Config\nmetadata: {name: pf}\nbuild:\n  push: ${push}\n  defaultRepo: "${repo}"\n  artifacts:\n` +
  `    - image: web\n      context: app\n      compile: {command: [sh, -c, "touch compiled; sleep 60"]}\nmanifests: []\n`;

beforeAll(async () => {
  await ensureBuilt();
  fake = await startFakeKube();
  closedRegistry = `127.0.0.1:${await freePort()}`;
  home = await tempTree('devloop-home-');
  dir = await tempTree('devloop-pf-', {
    'app/Dockerfile': 'FROM scratch\n',
    'push.yaml': config('true', closedRegistry),
    'local.yaml': config('false', closedRegistry),
  });
}, 120_000);
afterAll(async () => {
  await fake?.stop();
  await removeTemps();
});

function jsonEvents(stdout: string): { type: string; [key: string]: unknown }[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string });
}

describe('pre-flight before compiling', () => {
  it('run with no kubeconfig at all: KUBECONFIG_MISSING within a second, nothing compiled', async () => {
    const started = performance.now();
    const result = await devloop(['run', '-f', 'local.yaml', '-o', 'json'], dir, { KUBECONFIG: undefined, HOME: home });
    const ms = performance.now() - started; // node start-up included; the check itself takes milliseconds
    expect(result.exitCode).toBe(1);
    const events = jsonEvents(result.stdout);
    expect(events.some((e) => e.type === 'stage')).toBe(false);
    expect(events.find((e) => e.type === 'error')).toMatchObject({
      code: 'KUBECONFIG_MISSING',
      message: 'no kube context: $KUBECONFIG is unset and ~/.kube/config does not exist',
      hint: expect.stringContaining('kubectl config use-context'),
    });
    expect(ms).toBeLessThan(5000);
  });

  it('run whose registry does not answer: REGISTRY_UNREACHABLE naming the host, nothing compiled', async () => {
    const result = await devloop(['run', '-f', 'push.yaml', '-o', 'json'], dir, { KUBECONFIG: fake.kubeconfigPath, HOME: home });
    expect(result.exitCode).toBe(1);
    const events = jsonEvents(result.stdout);
    expect(events.some((e) => e.type === 'stage')).toBe(false);
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({ code: 'REGISTRY_UNREACHABLE', message: expect.stringContaining(`registry ${closedRegistry} does not answer (ECONNREFUSED`) }),
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'iteration', status: 'error' });
  });

  it('text output: one error line naming the host, and a hint', async () => {
    const result = await devloop(['build', '-f', 'push.yaml'], dir, { HOME: home });
    expect(result.exitCode).toBe(1);
    // Info notices (e.g. the target platform) may come first; the failure is exactly these two lines.
    expect(result.stderr.split('\n').filter((line) => !line.startsWith('i '))).toEqual([
      `error: registry ${closedRegistry} does not answer (ECONNREFUSED on GET http://${closedRegistry}/v2/); web would be pushed there`,
      '  hint: start the registry, or push elsewhere: build.defaultRepo / --default-repo, or --push=false (build only)',
    ]);
  });

  it('build --push=false needs no registry and no cluster: it goes on to compile', async () => {
    expect(await reachesCompile(['build', '-f', 'push.yaml', '--push=false'])).toBe(true);
  });

  it('--skip-preflight skips the checks: the build compiles though the registry does not answer', async () => {
    expect(await reachesCompile(['build', '-f', 'push.yaml', '--skip-preflight'])).toBe(true);
  });
});

/** Whether the command starts the (60 s) compile; it is stopped as soon as it does. */
async function reachesCompile(args: string[]): Promise<boolean> {
  const { execa } = await import('execa');
  const child = execa('node', [join(import.meta.dirname, '..', '..', 'bin', 'devloop.js'), ...args, '-o', 'json'], {
    cwd: dir,
    env: { HOME: home, NO_COLOR: '1', KUBECONFIG: undefined, DEVLOOP_DEFAULT_REPO: undefined },
    reject: false,
    buffer: false,
  });
  const started = await new Promise<boolean>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('"stage":"compile","artifact":"web","status":"start"')) resolve(true);
    });
    void child.then(() => resolve(false));
  });
  child.kill();
  await child;
  return started;
}
