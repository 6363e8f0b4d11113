/**
 * `devloop dev` on a project where files outside the context are inputs and files inside it are
 * written by devloop itself or by the compile step: the CLI as a child process, its stdout
 * redirected INTO the artifact's context (`devloop dev -o json > quote/events.json`), the fake
 * API server with real containers, a real registry. Needs dockerd and docker-registry.
 *
 *   <top>/.git                       a git work tree above the project
 *   <top>/.gitignore                 applies to the context (edited below)
 *   <top>/docker/quote.Dockerfile    the Dockerfile, outside the context and the project
 *   <top>/proj/devloop.yaml
 *   <top>/proj/quote/                the context; its compile step writes www/gen.txt (a compile input)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dockerAvailable, registryBinaryAvailable, servicesRequired } from '../support/services.js';
import { bin, makeProject, repoRoot, type DevEvent, type Project } from './harness.js';

const haveServices = (await dockerAvailable()) && registryBinaryAvailable();
if (!haveServices && servicesRequired) throw new Error('dockerd and docker-registry are required (DEVLOOP_TEST_REQUIRE_SERVICES=1)');

/** The JSON events `devloop dev` writes to a file (its stdout), read as they come. */
class FileEvents {
  constructor(private readonly file: string, private readonly child: ChildProcess, private readonly stderr: () => string) {}

  async all(): Promise<DevEvent[]> {
    const text = await readFile(this.file, 'utf8');
    return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as DevEvent);
  }

  async waitFor(predicate: (e: DevEvent) => boolean, timeoutMs = 120_000): Promise<DevEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await this.all()).find(predicate);
      if (found) return found;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        const tail = (await this.all()).slice(-15).map((e) => JSON.stringify(e)).join('\n');
        throw new Error(`${this.child.exitCode !== null ? 'devloop dev exited' : 'timed out'}; last events:\n${tail}\nstderr: ${this.stderr().slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const starts = (events: DevEvent[]) => events.filter((e) => e.type === 'iteration' && e.status === 'start');
const isIteration = (status: string, n: number) => (e: DevEvent) => e.type === 'iteration' && e.status === status && e.n === n;

describe.skipIf(!haveServices)('devloop dev: inputs outside the context, files it writes itself', () => {
  let project: Project;
  let child: ChildProcess;
  let events: FileEvents;
  let top: string;
  let proj: string;

  beforeAll(async () => {
    project = await makeProject();
    top = project.dir;
    proj = join(top, 'proj');
    await execa('git', ['init', '-q', top]);
    await mkdir(join(proj, 'k8s'), { recursive: true });
    await mkdir(join(proj, 'docker'));
    // Outside the context but inside the project folder: the one place besides the context where the
    // safety rule (README, Safety) lets a Dockerfile live.
    await cp(join(repoRoot, 'examples/hello/quote/Dockerfile'), join(proj, 'docker/quote.Dockerfile'));
    await cp(join(repoRoot, 'examples/hello/quote/www'), join(proj, 'quote/www'), { recursive: true });
    await cp(join(repoRoot, 'examples/hello/k8s/quote.yaml'), join(proj, 'k8s/quote.yaml'));
    await writeFile(join(top, '.gitignore'), '*.log\n');
    await writeFile(
      join(proj, 'devloop.yaml'),
      `apiVersion: devloop/v1
kind: Config
metadata: {name: selfwrites}
build:
  tagPolicy: inputDigest
  defaultRepo: ${project.registry}/devloop-dev-test
  push: true
  artifacts:
    - image: quote
      context: quote
      compile:
        command: [sh, -c, "date +%s%N > www/gen.txt"]
        inputs: ["www/**"]
      docker:
        dockerfile: ../docker/quote.Dockerfile
        buildArgs: {BASE: "${project.base}"}
manifests: ["k8s/*.yaml"]
deploy:
  statusCheck: {timeout: 60s}
`,
    );
    const out = join(proj, 'quote/events.json');
    const fd = openSync(out, 'w');
    let stderr = '';
    child = spawn(process.execPath, [bin, 'dev', '--output', 'json', '--debounce', '150'], { cwd: proj, env: project.env, stdio: ['pipe', fd, 'pipe'] });
    closeSync(fd);
    child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    events = new FileEvents(out, child, () => stderr);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
    await project?.dispose();
  }, 120_000);

  it('its own stdout file is no input; a compile step rewriting its input loops once, then a warning names the file', async () => {
    await events.waitFor(isIteration('ok', 1), 240_000);
    const notice = await events.waitFor((e) => e.type === 'notice' && e.level === 'warn' && /previous iteration wrote/.test(String(e.message)));
    expect(String(notice.message)).toContain('(quote/www/gen.txt)');
    const all = await events.all();
    // iteration 2 was started by the generated file alone (not by events.json), then the loop stopped
    expect(starts(all).map((e) => [e.n, e.changed])).toEqual([
      [1, []],
      [2, ['quote/www/gen.txt']],
    ]);
  }, 300_000);

  it('a Dockerfile outside the context starts the next iteration (with the held file)', async () => {
    await appendFile(join(proj, 'docker/quote.Dockerfile'), '# edited\n');
    const start = await events.waitFor((e) => e.type === 'iteration' && e.status === 'start' && e.n === 3);
    expect(start.changed).toEqual(['docker/quote.Dockerfile', 'quote/www/gen.txt']);
    expect((await events.waitFor((e) => e.type === 'iteration' && e.n === 3 && e.status !== 'start')).status).toBe('ok');
  }, 180_000);

  it('a .gitignore above the project starts an iteration and refreshes the input rules', async () => {
    await writeFile(join(top, '.gitignore'), '*.log\nproj/quote/www/gen.txt\n');
    const start = await events.waitFor((e) => e.type === 'iteration' && e.status === 'start' && e.n === 4);
    expect(start.reason).toBe('rebuild quote: ../../.gitignore and 1 more changed');
    expect(start.changed).toEqual(['../.gitignore', 'quote/www/gen.txt']);
    expect((await events.waitFor((e) => e.type === 'iteration' && e.n === 4 && e.status !== 'start')).status).toBe('ok');
    // gen.txt, rewritten again by iteration 4's compile, is ignored now: the next change comes alone
    await writeFile(join(proj, 'quote/www/index.html'), '<h1>after the .gitignore change</h1>\n');
    const next = await events.waitFor((e) => e.type === 'iteration' && e.status === 'start' && e.n === 5);
    expect(next.changed).toEqual(['quote/www/index.html']);
    expect((await events.waitFor((e) => e.type === 'iteration' && e.n === 5 && e.status !== 'start')).status).toBe('ok');
  }, 240_000);

  it('Ctrl-C stops it', async () => {
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(130);
    expect((await events.all()).filter((e) => e.type === 'iteration' && e.status === 'start')).toHaveLength(5);
  }, 120_000);
});
