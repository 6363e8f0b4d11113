/**
 * `devloop dev` in a real terminal (tmux, 120×40) against the real cluster: stage lines update in
 * place and leave one line per stage, the status block sits at the bottom, an iteration of one artifact
 * fits in one screen, a compile error shows its last lines with the command and exit code, and the
 * raw-mode keys s, r and q work. Also renders the screen to a PNG for the README (test-results/terminal-dev.png;
 * DEVLOOP_TEST_UPDATE_DOCS=1 also copies it to docs/terminal-dev.png).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, ROOT, copyFromRepo, devloop, tempDir } from '../e2e/support.js';
import { busyboxBaseImage, freePort, testRegistry } from '../support/services.js';
import { startTmux, screenshotAnsi, tmuxAvailable, type Tmux } from '../support/tmux.js';
import { clusterPresent, labeled, openCluster, removeRepoImages, until, type Cluster } from './support.js';

const haveTmux = await tmuxAvailable();
if (!haveTmux) process.stdout.write('test/cluster/terminal.test.ts: skipped (tmux is not installed)\n');
const present = haveTmux && (await clusterPresent());

const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /;
/** The first row of `rows` matching `pattern`, or -1. */
const rowOf = (rows: string[], pattern: RegExp): number => rows.findIndex((row) => pattern.test(row));

describe.skipIf(!present)('devloop dev in a terminal (tmux)', () => {
  let cluster: Cluster;
  let project: { dir: string; remove(): Promise<void> };
  let scripts: { dir: string; remove(): Promise<void> };
  let repo: string;
  let port: number;
  let term: Tmux;
  const main = (): string => join(project.dir, 'hello', 'main.go');

  beforeAll(async () => {
    cluster = await openCluster('tty');
    const registry = await testRegistry();
    const base = await busyboxBaseImage(registry);
    repo = `${registry}/devloop-cluster-tty-${cluster.namespace.slice(-6)}`;
    port = await freePort();
    project = await tempDir('devloop-cluster-tty-');
    await copyFromRepo('examples/hello/hello', join(project.dir, 'hello'));
    await mkdir(join(project.dir, 'k8s'));
    await writeFile(join(project.dir, 'k8s', 'hello.yaml'), await readFile(join(ROOT, 'examples/hello/k8s/hello.yaml')));
    await writeFile(join(project.dir, 'hello', '.gitignore'), 'bin/\n');
    await writeFile(
      join(project.dir, 'devloop.yaml'),
      `apiVersion: devloop/v1
kind: Config
metadata: {name: tty}
build:
  tagPolicy: inputDigest
  push: true
  artifacts:
    - image: hello
      context: hello
      compile:
        command: [go, build, -o, bin/hello, .]
        inputs: ["**/*.go", go.mod]
        env: {CGO_ENABLED: "0", GOOS: linux, GOFLAGS: -trimpath}
      docker:
        buildArgs: {BASE: "${base}"}
manifests: ["k8s/*.yaml"]
deploy:
  statusCheck: {timeout: 90s}
portForward:
  - {resource: service/hello, port: 80, localPort: ${port}}
`,
    );
    // The terminal's shell runs this script (outside the project: it is no input); the pane stays after devloop exits.
    scripts = await tempDir('devloop-tty-run-');
    const script = join(scripts.dir, 'dev.sh');
    await writeFile(
      script,
      `unset NO_COLOR CI
export KUBECONFIG='${cluster.env.KUBECONFIG}' DEVLOOP_DEFAULT_REPO='${repo}' TERM=xterm-256color
cd '${project.dir}'
'${process.execPath}' '${CLI}' dev -n '${cluster.namespace}'
echo "devloop exited with $?"
sleep 600
`,
    );
    term = await startTmux(`sh ${script}`, 120, 40);
  }, 120_000);

  afterAll(async () => {
    await term?.kill();
    await cluster?.dispose();
    if (repo) await removeRepoImages(repo);
    await project?.remove();
    await scripts?.remove();
  });

  it('the first iteration: each stage one line updated in place, then the status block with the forward and the pods', async () => {
    // While it runs, a stage is a spinner line; it is replaced, never followed, by its ✓ line.
    const running = await term.waitFor('a running stage', (rows) => rows.some((row) => SPINNER.test(row) && / (compile|build|push|status) hello| status /.test(row)), 120_000);
    expect(running.filter((row) => row.startsWith('▸'))).toEqual([]);
    const screen = await term.waitFor('the first iteration and the forward', (rows) => rows.some((r) => /^✓ iteration 1 ok in /.test(r)) && rows.some((r) => r.includes(`http://127.0.0.1:${port}`)), 180_000);
    for (const stage of ['compile hello', 'build hello', 'push hello', 'render', 'apply', 'status']) {
      expect(screen.filter((row) => new RegExp(`^[✓·] ${stage} `).test(row)), stage).toHaveLength(1);
    }
    expect(screen.filter((row) => SPINNER.test(row))).toEqual([]);
    // Tool output (docker's steps and push lines) is not shown for a stage that worked.
    expect(screen.join('\n')).not.toMatch(/Step \d+\/\d+|Preparing|Pushed|digest: sha256/);
    // The status block is the bottom of the screen.
    const bottom = screen.slice(-4);
    expect(bottom[0]).toMatch(/^─{20,}$/);
    expect(bottom[1]).toMatch(new RegExp(`^⇄ http://127\\.0\\.0\\.1:${port} → service/hello:80 \\(hello-`));
    expect(bottom[2]).toBe('● deployment/hello 1/1 ready');
    expect(bottom[3]).toMatch(/^✓ iteration 1 ok in \S+ · initial build and deploy · \d\d:\d\d:\d\d$/);
    const answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(answer).toContain('Hello from devloop v1');
  }, 240_000);

  it('a one-line change (sed -i): one iteration of one artifact fits in one screen, its reason names main.go alone', async () => {
    await execa('sed', ['-i', 's/devloop v1/devloop v2/', main()]);
    const screen = await term.waitFor('iteration 2', (rows) => rows.some((r) => /^✓ iteration 2 ok in /.test(r)) && rows.some((r) => /^✓ iteration 2 ok in .*· \d\d:\d\d:\d\d$/.test(r)), 180_000);
    const header = rowOf(screen, /^── iteration 2 · /);
    expect(header, screen.join('\n')).toBeGreaterThanOrEqual(0);
    expect(screen[header]).toBe('── iteration 2 · rebuild hello: main.go changed');
    const iteration = screen.slice(header);
    expect(iteration.length).toBeLessThanOrEqual(40);
    expect(iteration.filter((row) => /^[✓✗·] /.test(row)).map((row) => row.replace(/ \d[\d.]*m?s\b.*$/, ''))).toEqual([
      '✓ compile hello',
      '✓ build hello',
      '✓ push hello',
      '✓ render',
      '✓ apply',
      '✓ prune',
      '✓ status',
      '✓ iteration 2 ok in',
      '✓ iteration 2 ok in',
    ]);
    const history = await term.history();
    const start = history.lastIndexOf('── iteration 2 · rebuild hello: main.go changed');
    const end = history.findIndex((row, i) => i > start && /^✓ iteration 2 ok in /.test(row));
    process.stdout.write(`terminal: iteration 2 printed ${end - start + 1} lines (header to result), plus the ${screen.length - screen.indexOf(screen.find((r) => /^─{20,}$/.test(r))!)}-line status block\n`);
    // fetch's kept-alive connection from the first test still leads to the old pod (a forwarded connection
    // stays with its pod); once that pod is gone, new connections reach the new one.
    await until('the new version through the forward', () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).then((t) => t.includes('Hello from devloop v2')), 15_000);
    // The picture for the README: this screen, in colour (test-results/; DEVLOOP_TEST_UPDATE_DOCS=1 also copies it to docs/).
    const ansi = (await term.screenAnsi()).replace(/\s+$/, '');
    const png = await screenshotAnsi(ansi, { width: 1080, height: ansi.split('\n').length * 19 + 30 });
    if (png) {
      await mkdir(join(ROOT, 'test-results'), { recursive: true });
      await writeFile(join(ROOT, 'test-results', 'terminal-dev.png'), png);
      if (process.env.DEVLOOP_TEST_UPDATE_DOCS === '1') await copyFile(join(ROOT, 'test-results', 'terminal-dev.png'), join(ROOT, 'docs', 'terminal-dev.png'));
    }
  }, 240_000);

  it('a compile error: the failed stage with its last output lines, then the command and its exit code', async () => {
    await execa('sed', ['-i', 's/^const greeting = /const greeting = undefinedThing + /', main()]);
    const screen = await term.waitFor('iteration 3 to fail', (rows) => rows.some((r) => /^✗ iteration 3 failed after /.test(r)), 120_000);
    const failed = rowOf(screen, /^✗ compile hello failed after /);
    expect(failed, screen.join('\n')).toBeGreaterThanOrEqual(0);
    expect(screen[failed + 1]).toMatch(/^ {2}│ # /);
    expect(screen[failed + 2]).toMatch(/^ {2}│ \.\/main\.go:\d+:\d+: undefined: undefinedThing$/);
    expect(screen[failed + 3]).toMatch(/^error: hello compile: compile "go build -o bin\/hello \." failed with exit code \d+: /);
    expect(screen.slice(-1)[0]).toMatch(/^✗ iteration 3 failed after .* · hello: compile "go build/);
    await execa('sed', ['-i', 's/undefinedThing + //', main()]);
    await term.waitFor('iteration 4', (rows) => rows.some((r) => /^✓ iteration 4 ok in /.test(r)), 120_000);
  }, 240_000);

  it('keys: s shows the status, r rebuilds everything, q quits and cleans up', async () => {
    await term.send('s');
    await term.waitFor('the status', (rows) => rows.some((r) => r.startsWith('i iteration 4 ok: ')), 10_000);
    await term.send('r');
    const rebuilt = await term.waitFor('iteration 5', (rows) => rows.some((r) => /^✓ iteration 5 ok in /.test(r)), 120_000);
    expect(rebuilt).toContain('── iteration 5 · rebuild all (r)');
    await term.send('q');
    const done = await term.waitFor('devloop to exit', (rows) => rows.some((r) => r.startsWith('devloop exited with ')), 120_000);
    expect(done.find((r) => r.startsWith('devloop exited with '))).toBe('devloop exited with 0');
    expect(done.filter((r) => /^✓ delete /.test(r))).toHaveLength(1);
    // The live lines are gone: no status block, no spinner, once devloop has ended.
    expect(done.filter((row) => SPINNER.test(row) || /^─{20,}$/.test(row))).toEqual([]);
    // Deleted before devloop exits; their pods are removed by the garbage collector just after.
    expect((await labeled(cluster, 'devloop.dev/config=tty')).filter((o) => !o.startsWith('Pod/'))).toEqual([]);
    await until('the pods to go', async () => (await labeled(cluster, 'devloop.dev/config=tty')).length === 0, 60_000);
  }, 240_000);

  it('without a terminal (pipes): the same lines, no control codes, no tool output', async () => {
    const result = await devloop(project.dir, ['run', '-n', cluster.namespace], { ...cluster.env, DEVLOOP_DEFAULT_REPO: repo, NO_COLOR: undefined }, 180_000);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain('\u001b');
    const lines = result.stderr.trimEnd().split('\n');
    // built by the dev session already: one line for the three cached stages
    expect(lines.filter((line) => /(compile|build|push)\b.* hello /.test(line))).toEqual(['· compile, build, push hello skipped (cached)']);
    expect(lines.at(-1)).toMatch(/^✓ iteration 1 ok in /);
    expect(result.stderr).not.toMatch(/Step \d+\/\d+|Preparing|Pushed|▸/);
  }, 240_000);
});
