/** Host hooks: env, streamed output with the hook's name, stage events, failures, timeouts, non-fatal after hooks; config validation. */
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runHooks, type HookRun } from '../../src/hooks/index.js';
import type { HookConfig } from '../../src/config/types.js';
import { DevloopError } from '../../src/errors.js';
import { loadConfigText } from '../../src/config/load.js';
import { recorder, removeTemps, tempProject } from '../build/helpers.js';

afterAll(removeTemps);

const hook = (command: HookConfig['command'], extra: Partial<HookConfig> = {}): HookConfig => ({ command, runIn: 'host', env: {}, timeout: 10_000, nonFatal: false, ...extra });

function run(cwd: string, extra: Partial<HookRun> = {}): HookRun & { events: ReturnType<typeof recorder>['events'] } {
  const { events, emit } = recorder();
  return { phase: 'build', when: 'before', artifact: 'web', cwd, env: { DEVLOOP_IMAGE: 'web', DEVLOOP_IMAGE_TAG: 't1' }, emit, signal: new AbortController().signal, events, ...extra };
}

describe('host hooks', () => {
  it('run in order in the given folder with the DEVLOOP_* env and their own env; output and stages carry the hook name', async () => {
    const dir = await tempProject();
    const r = run(dir);
    await runHooks([hook('echo "$DEVLOOP_IMAGE:$DEVLOOP_IMAGE_TAG $DEVLOOP_HOOK $EXTRA" > out.txt; echo generated', { env: { EXTRA: 'x' } }), hook(['sh', '-c', 'echo second >&2'], { name: 'gen' })], r);
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('web:t1 build.before[0] x\n');
    const stages = r.events.flatMap((e) => (e.type === 'stage' ? [`${e.hook}:${e.status}`] : []));
    expect(stages).toEqual(['build.before[0]:start', 'build.before[0]:end', 'gen:start', 'gen:end']);
    const logs = r.events.flatMap((e) => (e.type === 'log' ? [`${e.stage} ${e.hook} ${e.stream} ${e.line}`] : []));
    expect(logs).toEqual(['hook build.before[0] stdout generated', 'hook gen stderr second']);
  });

  it('a failing hook stops at once with a one-line error naming the artifact, the hook and its last output line', async () => {
    const dir = await tempProject();
    const r = run(dir);
    const error = await runHooks([hook('echo boom; exit 3', { name: 'codegen' }), hook('touch never')], r).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevloopError);
    expect((error as DevloopError).code).toBe('HOOK_FAILED');
    expect((error as DevloopError).message).toBe('web: hook "codegen" failed with exit code 3: boom');
    expect((error as DevloopError).exitCode).toBe(1);
    await expect(readFile(join(dir, 'never'))).rejects.toThrow();
    expect(r.events.some((e) => e.type === 'stage' && e.status === 'error' && e.hook === 'codegen')).toBe(true);
  });

  it('a missing program is named', async () => {
    const dir = await tempProject();
    const error = (await runHooks([hook(['devloop-no-such-tool', 'x'])], run(dir, { phase: 'deploy', artifact: undefined })).catch((e: unknown) => e)) as DevloopError;
    expect(error.message).toBe('hook "deploy.before[0]": command "devloop-no-such-tool" not found');
  });

  it('a hook that outlives its timeout is stopped (its process group too) and reported as HOOK_TIMEOUT', async () => {
    const dir = await tempProject();
    const started = Date.now();
    const error = (await runHooks([hook('sleep 30 & wait', { timeout: 300, name: 'slow' })], run(dir)).catch((e: unknown) => e)) as DevloopError;
    expect(error.code).toBe('HOOK_TIMEOUT');
    expect(error.message).toBe('web: hook "slow" timed out after 300ms (stopped): sleep 30 & wait');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a non-fatal after hook that fails is a warning and the next hook still runs', async () => {
    const dir = await tempProject();
    const r = run(dir, { when: 'after' });
    await runHooks([hook('exit 1', { nonFatal: true, name: 'flaky' }), hook('touch ran')], r);
    await readFile(join(dir, 'ran'));
    expect(r.events.find((e) => e.type === 'notice')).toMatchObject({ level: 'warn', message: 'web: hook "flaky" failed with exit code 1 (non-fatal hook: going on)' });
  });

  it('a container hook without a cluster says so', async () => {
    const dir = await tempProject();
    const error = (await runHooks([hook('true', { runIn: 'containers' })], run(dir)).catch((e: unknown) => e)) as DevloopError;
    expect(error.code).toBe('HOOK_NO_CLUSTER');
  });
});

describe('hook config', () => {
  const load = (yaml: string) =>
    loadConfigText(yaml, { file: '/p/devloop.yaml', displayName: 'devloop.yaml', profiles: [], command: 'run', overrides: {}, env: {} });
  const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: h}\n';

  it('fills defaults for artifact and deploy hooks', async () => {
    const loaded = await load(
      `${head}build:\n  artifacts:\n    - image: web\n      hooks:\n        build:\n          before: [{command: "make gen"}]\ndeploy:\n  hooks:\n    after: [{command: [migrate, up], runIn: containers, artifact: web, timeout: 2m, nonFatal: true}]\n`,
    );
    expect(loaded.config.build.artifacts[0]!.hooks).toEqual({
      build: { before: [{ command: 'make gen', runIn: 'host', env: {}, timeout: 60_000, nonFatal: false }], after: [] },
      sync: { before: [], after: [] },
    });
    expect(loaded.config.deploy.hooks!.after[0]).toEqual({ command: ['migrate', 'up'], runIn: 'containers', artifact: 'web', env: {}, timeout: 120_000, nonFatal: true });
  });

  it('refuses a container deploy hook without an artifact, and an unknown artifact, with the line', async () => {
    await expect(load(`${head}deploy:\n  hooks:\n    after: [{command: x, runIn: containers}]\n`)).rejects.toThrow(/devloop.yaml:6.*deploy.hooks.after\[0\]: a container hook here must name its artifact/);
    await expect(load(`${head}build:\n  artifacts:\n    - image: web\ndeploy:\n  hooks:\n    after: [{command: x, runIn: containers, artifact: wbe}]\n`)).rejects.toThrow(/no artifact "wbe"/);
  });

  it('refuses a non-fatal before hook and an unknown runIn, with the line', async () => {
    await expect(load(`${head}deploy:\n  hooks:\n    before: [{command: x, nonFatal: true}]\n`)).rejects.toThrow(/devloop.yaml:6.*only after hooks can be non-fatal/);
    await expect(load(`${head}deploy:\n  hooks:\n    after: [{command: x, runIn: pod}]\n`)).rejects.toThrow(/expected one of host, containers/);
  });
});
