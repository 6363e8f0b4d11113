/**
 * Issue 14 case 2: SIGTERM during `compile.command: "sleep 30 && …"` killed only /bin/sh; `sleep`
 * kept the output pipes open, devloop waited ~28 s, and in `dev` a second signal left `sleep`
 * running with PPID 1. Every child now runs in its own process group, which is stopped as a whole.
 * Checked by process group in /proc, with the real CLI (`build` and `dev`) and the helper itself.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runStreaming, KILL_GRACE_MS } from '../../src/util/process.js';
import { BIN, ensureBuilt } from '../cli/helpers.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { removeTemps, tempDir } from '../support/tmp.js';

interface Proc {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgid: number;
}

function procs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const [state, ppid, pgid] = stat.slice(close + 2).split(' ');
    out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), state: state!, ppid: Number(ppid), pgid: Number(pgid) });
  }
  return out;
}

/** Members of a process group that still run (zombies are dead: only waiting to be reaped). */
function alive(pgid: number): Proc[] {
  return procs().filter((p) => p.pgid === pgid && p.state !== 'Z');
}

/**
 * Members of the group still alive once the kernel had up to 2 s to deliver the SIGKILLs devloop sent on
 * its way out (delivery is asynchronous: a member may still show as running right after devloop exits).
 * Empty means the group is gone; a group devloop failed to kill is still listed after the bound.
 */
async function survivors(pgid: number): Promise<Proc[]> {
  const end = Date.now() + 2_000;
  while (alive(pgid).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return alive(pgid);
}

async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// No registry answers at 127.0.0.1:9; the tests pass --skip-preflight so the compile starts.
const config = (compile: string) => `apiVersion: devloop/v1
kind: Config
metadata: {name: sig}
build:
  defaultRepo: 127.0.0.1:9/nothing
  artifacts:
    - image: sig
      compile:
        command: ${JSON.stringify(compile)}
      oci:
        from: scratch
        layers:
          - {from: out.txt, to: /out.txt}
`;

/** Starts the CLI, waits for the compile's `sleep` in its group, sends `signals` SIGTERMs; returns the outcome. */
async function interrupt(args: string[], compile: string, env: NodeJS.ProcessEnv, signals = 1) {
  const dir = await tempDir('devloop-faults-sig-');
  await writeFile(join(dir, 'devloop.yaml'), config(compile));
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const sh = await until(() => procs().find((p) => p.ppid === child.pid && p.comm === 'sh'), 20_000, 'the compile shell');
  await until(() => procs().find((p) => p.pgid === sh.pgid && p.comm === 'sleep') ?? undefined, 5_000, 'sleep in the compile group');
  expect(sh.pgid).toBe(sh.pid); // the shell leads its own group
  const started = Date.now();
  for (let i = 0; i < signals; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
  }
  const code = await exited;
  return { code, seconds: (Date.now() - started) / 1000, pgid: sh.pgid, output };
}

describe('SIGTERM during a compile', () => {
  let fake: FakeKube;
  beforeAll(async () => {
    await ensureBuilt();
    fake = await startFakeKube();
  });
  afterAll(async () => {
    await fake?.stop();
    await removeTemps();
  });

  test('build: exits within seconds and no process of the compile group survives', async () => {
    const result = await interrupt(['build', '--skip-preflight'], 'sleep 30 && echo done > out.txt', {});
    expect(result.seconds).toBeLessThan(5);
    expect(result.code).toBe(143); // 128 + SIGTERM
    expect(await survivors(result.pgid)).toEqual([]);
    expect(result.output).toContain('interrupted by SIGTERM');
  });

  test('dev: exits within seconds and no process of the compile group survives', async () => {
    const result = await interrupt(['dev', '--skip-preflight'], 'sleep 30 && echo done > out.txt', { KUBECONFIG: fake.kubeconfigPath });
    expect(result.seconds).toBeLessThan(8);
    expect(await survivors(result.pgid)).toEqual([]);
  });

  test('a group that ignores SIGTERM is killed after the grace; a second signal kills it at once', async () => {
    const ignoring = "trap '' TERM; sleep 30 && echo done > out.txt";
    const one = await interrupt(['build', '--skip-preflight'], ignoring, {});
    expect(one.seconds).toBeGreaterThanOrEqual(KILL_GRACE_MS / 1000 - 0.5);
    expect(one.seconds).toBeLessThan(KILL_GRACE_MS / 1000 + 3);
    expect(await survivors(one.pgid)).toEqual([]);
    const two = await interrupt(['dev', '--skip-preflight'], ignoring, { KUBECONFIG: fake.kubeconfigPath }, 2);
    expect(two.seconds).toBeLessThan(KILL_GRACE_MS / 1000);
    expect(two.code).toBe(143);
    expect(await survivors(two.pgid)).toEqual([]);
  });
});

describe('runStreaming (the one process helper)', () => {
  test('abort stops the whole group, not only the shell', async () => {
    const controller = new AbortController();
    let pgid = 0;
    const run = runStreaming({ file: '/bin/sh', args: ['-c', 'echo $$; sleep 30; echo never'], signal: controller.signal, onLine: (line) => (pgid ||= Number(line)) });
    await until(() => (pgid && alive(pgid).some((p) => p.comm === 'sleep') ? true : undefined), 5_000, 'sleep in the group');
    const started = Date.now();
    controller.abort();
    const result = await run;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.canceled).toBe(true);
    expect(await survivors(pgid)).toEqual([]);
  });

  test('what the child leaves running in its group is stopped, and the wait for output is bounded', async () => {
    const started = Date.now();
    const result = await runStreaming({ file: '/bin/sh', args: ['-c', 'sleep 30 & echo $$'] });
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(KILL_GRACE_MS + 2_000);
    expect(await survivors(Number(result.stdout[0]))).toEqual([]);
  });

  test('timeout and stdin input', async () => {
    const timed = await runStreaming({ file: '/bin/sh', args: ['-c', 'sleep 30'], timeoutMs: 200 });
    expect(timed.timedOut).toBe(true);
    const echoed = await runStreaming({ file: 'cat', args: [], input: 'hello\n' });
    expect(echoed.stdout).toEqual(['hello']);
    const missing = await runStreaming({ file: 'devloop-no-such-program', args: [] });
    expect(missing.spawnErrorCode).toBe('ENOENT');
  });
});
