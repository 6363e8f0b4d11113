/**
 * Live update's pieces that run without a cluster: the supervisor script under the local /bin/sh
 * (restart on SIGHUP, SIGTERM forwarded, a first run's exit ends it, a restarted run's exit does
 * not), the live-update command that copies then restarts against it, the /bin/sh check of image layers, and which compile outputs a live update copies.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { COPIED_LINE, SUPERVISOR_SCRIPT, SUPERVISOR_NAME, liveUpdateCommand, procPort, supervisedCommand } from '../../src/sync/supervisor.js';
import { shellIn } from '../../src/sync/image-process.js';
import { compiledOutputs } from '../../src/sync/outputs.js';
import { compileSyncRules } from '../../src/sync/map.js';
import { tarHeader, tarTrailer } from '../../src/build/oci/tar.js';
import { removeTemps, tempTree } from '../support/tmp.js';

afterAll(removeTemps);

/** Polls (every 20 ms, at most 10 s: a loaded machine) until `probe` holds: the process is the judge, not a sleep. */
async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!existsSync('/dev/shm'))('supervisor script (local /bin/sh)', () => {
  const name = `test-${randomBytes(4).toString('hex')}`;
  const state = `/dev/shm/.devloop-supervisor-${name}`;
  let child: ChildProcess | undefined;
  const started: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of started) c.kill('SIGKILL'); // a failed test leaves none behind
    await rm(state, { force: true });
  });

  async function start(dir: string, ignoreTerm = false): Promise<{ lines: string[]; exit: Promise<number | null> }> {
    await rm(state, { force: true }); // the previous test's supervisor left its state
    // The process prints "start", exits 7 when <dir>/crash exists, else runs until stopped.
    const app = ['/bin/sh', '-c', `${ignoreTerm ? "trap '' TERM; " : ''}echo start; [ -f ${dir}/crash ] && exit 7; exec sleep 30`];
    // As the kubelet runs it: `$$` in a container command becomes `$`.
    const [file, ...args] = supervisedCommand(name, app).map((arg, i) => (i === 2 ? arg.replaceAll('$$', '$') : arg));
    expect(args[1]).toBe(SUPERVISOR_SCRIPT);
    child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVLOOP_RESTART_GRACE: '1' } });
    started.push(child);
    const lines: string[] = [];
    child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    const exit = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    return { lines, exit };
  }
  // Each test waits for the command's first output before the SIGHUP: a restart of a command that
  // had not printed yet is a restart all the same, but would leave one "start" fewer to count.
  const stateIs = async (text: RegExp): Promise<boolean> => text.test(await readFile(state, 'utf8').catch(() => ''));

  it('runs the command, re-runs it on SIGHUP, forwards SIGTERM and exits with its status', async () => {
    const dir = await tempTree('devloop-supervisor-');
    const { lines, exit } = await start(dir);
    await until('the first run', async () => (await stateIs(/^1 running \d+/)) && lines.includes('start'));
    child!.kill('SIGHUP');
    await until('the second run', () => stateIs(/^2 running \d+/));
    await until('its output', () => lines.filter((l) => l === 'start').length === 2);
    child!.kill('SIGTERM');
    expect(await exit).toBe(143); // sleep's own status after SIGTERM
  });

  it('a process that ignores SIGTERM is killed after the grace period (DEVLOOP_RESTART_GRACE), then restarted', async () => {
    const dir = await tempTree('devloop-supervisor-');
    const { lines, exit } = await start(dir, true);
    await until('the first run', async () => (await stateIs(/^1 running/)) && lines.includes('start'));
    child!.kill('SIGHUP');
    await until('the second run', () => stateIs(/^2 running/));
    await until('its output', () => lines.filter((l) => l === 'start').length === 2);
    child!.kill('SIGKILL');
    await exit;
  });

  it('the live-update command: a failing step exits with its status and restarts nothing; then it copies, restarts, and waits for the new run', async () => {
    const dir = await tempTree('devloop-supervisor-');
    const { lines, exit } = await start(dir);
    await until('the first run', async () => (await stateIs(/^1 running/)) && lines.includes('start'));
    // Without ports the restart waits until the new run started; with one, until it listens there.
    const run = (step: string, ports: number[] = []): Promise<{ code: number; stdout: string }> =>
      new Promise((resolve) => {
        const [file, ...args] = liveUpdateCommand(step, { namespace: 'ns', pod: 'pod', container: name, ports });
        execFile(file!, args, (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }));
      });
    const failed = await run('exit 5');
    expect(failed).toEqual({ code: 5, stdout: '' });
    expect(await stateIs(/^1 running/)).toBe(true); // no restart
    const copied = await run(`touch ${dir}/copied`);
    expect(copied).toEqual({ code: 0, stdout: `${COPIED_LINE}\n` });
    expect(await stateIs(/^2 running/)).toBe(true); // it returned once the new run was up
    await writeFile(join(dir, 'crash'), '');
    // Port 1 never listens: the wait ends when the new run exits.
    expect(await run('true', [1])).toEqual({ code: 3, stdout: `${COPIED_LINE}\nexited 7\n` });
    child!.kill('SIGTERM');
    await exit;
  });

  it('a first run that exits ends the supervisor with its code (the kubelet reports it as always)', async () => {
    const dir = await tempTree('devloop-supervisor-', { crash: '' });
    const { exit } = await start(dir);
    expect(await exit).toBe(7);
    expect(await stateIs(/^1 exited 7/)).toBe(true);
  });

  it('a restarted run that exits keeps the container alive until the next SIGHUP, which recovers', async () => {
    const dir = await tempTree('devloop-supervisor-');
    const { lines, exit } = await start(dir);
    await until('the first run', async () => (await stateIs(/^1 running/)) && lines.includes('start'));
    await writeFile(join(dir, 'crash'), '');
    child!.kill('SIGHUP');
    await until('the crash', () => stateIs(/^2 exited 7/));
    await until('the supervisor says so', () => lines.some((l) => l.includes('exited with code 7; the next live update starts it again')));
    await rm(join(dir, 'crash'));
    child!.kill('SIGHUP');
    await until('the recovered run', () => stateIs(/^3 running/));
    child!.kill('SIGTERM');
    expect(await exit).toBe(143);
    expect(lines).not.toContain('Terminated'); // the shell's notice about the stopped child is no log line
  });
});

describe('live update helpers', () => {
  it('ports as /proc/net/tcp writes them', () => {
    expect(procPort(8080)).toBe('1F90');
    expect(procPort(80)).toBe('0050');
  });

  it('a layer adds /bin/sh, removes it (whiteout), or says nothing about it', () => {
    const layer = (...paths: [string, 'file' | 'symlink'][]): Buffer =>
      Buffer.concat([...paths.map(([path, type]) => tarHeader({ path, type, mode: 0o755, size: 0, ...(type === 'symlink' ? { linkname: 'busybox' } : {}) }, 0)), tarTrailer()]);
    expect(shellIn(gzipSync(layer(['bin/busybox', 'file'], ['bin/sh', 'symlink'])), 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe('sh');
    expect(shellIn(layer(['./usr/bin/sh', 'file']), 'application/vnd.oci.image.layer.v1.tar')).toBe('sh');
    expect(shellIn(gzipSync(layer(['bin/.wh.sh', 'file'])), 'application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('removed');
    expect(shellIn(gzipSync(layer(['app', 'file'])), 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe('none');
    expect(shellIn(Buffer.from('zstd…'), 'application/vnd.oci.image.layer.v1.tar+zstd')).toBe('none');
  });

  it('a compile live update copies what the compile wrote below its restart rules, nothing else', async () => {
    const dir = await tempTree('devloop-outputs-', { 'bin/app': 'new', 'bin/old': 'old', 'dist/a.js': 'a', 'main.go': 'x' });
    const long = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'bin/old'), long, long);
    const rules = compileSyncRules([
      { src: 'bin/*', dest: '/', restart: true },
      { src: 'dist/**', dest: '/srv' }, // no restart: not a compile output a live update copies
    ]);
    expect(await compiledOutputs(dir, rules, Date.now() - 5_000)).toEqual([{ local: join(dir, 'bin/app'), path: '/app', dest: '/' }]);
  });
});

describe('the fake API server runs commands as the kubelet does', () => {
  it('$(NAME) of a defined variable expands, $$ is a literal $, the rest stays', async () => {
    const { expandVars } = await import('../support/fake-kube/docker-runtime.js');
    const vars = new Map([['PORT', '8080']]);
    expect(expandVars('--port=$(PORT) $(UNSET) $$(PORT) $$$$ a$b $(', vars)).toBe('--port=8080 $(UNSET) $(PORT) $$ a$b $(');
    const [, , script] = supervisedCommand('web', ['/app']);
    expect(expandVars(script!, vars)).toBe(SUPERVISOR_SCRIPT);
  });
});
