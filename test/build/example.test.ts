/**
 * End to end: `devloop build` (dist/ via bin/devloop.js) on the bundled two-artifact example,
 * against the real dockerd and registry. Run `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cp, readFile, writeFile, appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DevloopEvent } from '../../src/events/types.js';
import { busyboxBaseImage, dockerAvailable, registryBinaryAvailable, servicesRequired, testRegistry } from '../support/services.js';
import { removeTemps, tempProject } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
let ready = false;
let env: NodeJS.ProcessEnv = {};
let repo = '';
const localRefs = new Set<string>();

beforeAll(async () => {
  ready = (await dockerAvailable()) && registryBinaryAvailable();
  if (!ready && servicesRequired) throw new Error('dockerd and docker-registry are required here');
  if (!ready) return;
  const registry = await testRegistry();
  repo = `${registry}/devloop-e2e-${randomBytes(3).toString('hex')}`;
  env = { ...process.env, DEVLOOP_DEFAULT_REPO: repo, DEVLOOP_BASE_IMAGE: await busyboxBaseImage(registry) };
  delete env.CI; // the example's ci profile would switch to gitCommit tags
});

afterAll(async () => {
  if (localRefs.size) await execa('docker', ['rmi', '--force', ...localRefs], { reject: false });
  await removeTemps();
});

async function clone(): Promise<string> {
  const dir = await tempProject();
  await cp(join(root, 'examples'), join(dir, 'examples'), {
    recursive: true,
    filter: (src) => !src.includes('/bin/') && !src.endsWith('/bin'), // compile outputs are not part of a clone
  });
  await cp(join(root, 'devloop.yaml'), join(dir, 'devloop.yaml'));
  return dir;
}

interface BuildRun {
  exitCode: number;
  events: DevloopEvent[];
  builds: { image: string; tag: string }[];
}

async function devloopBuild(cwd: string): Promise<BuildRun> {
  const result = await execa('node', [join(root, 'bin/devloop.js'), 'build', '-o', 'json', '--file-output', 'tags.json'], { cwd, env, extendEnv: false, reject: false });
  const events = String(result.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l) as DevloopEvent);
  const builds = result.exitCode === 0 ? (JSON.parse(await readFile(join(cwd, 'tags.json'), 'utf8')) as { builds: BuildRun['builds'] }).builds : [];
  for (const b of builds) localRefs.add(b.tag.split('@')[0]!);
  if (result.exitCode !== 0) throw new Error(`devloop build failed (${result.exitCode}): ${result.stdout}\n${result.stderr}`);
  return { exitCode: result.exitCode, events, builds };
}

/** "stage artifact" for every stage that ran (ended), e.g. "build quote". */
const ran = (events: DevloopEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'stage' && e.status === 'end' ? [`${e.stage} ${e.artifact}`] : [])).sort();

async function registryDigest(ref: string): Promise<string | null> {
  const [name, tag] = ref.split('@')[0]!.split(/:(?=[^:/]+$)/) as [string, string];
  const slash = name.indexOf('/');
  const response = await fetch(`http://${name.slice(0, slash)}/v2/${name.slice(slash + 1)}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  });
  return response.status === 200 ? response.headers.get('docker-content-digest') : null;
}

describe('devloop build on the two-artifact example', () => {
  it('builds and pushes both, skips everything when unchanged, rebuilds only what changed; clones agree on tags', async (ctx) => {
    if (!ready) return ctx.skip();
    const a = await clone();
    const first = await devloopBuild(a);
    expect(first.builds.map((b) => b.image)).toEqual(['hello', 'quote']);
    for (const b of first.builds) {
      expect(b.tag).toMatch(new RegExp(`^${repo}/${b.image}:[0-9a-f]{16}@sha256:[0-9a-f]{64}$`));
      expect(await registryDigest(b.tag)).toBe(b.tag.split('@')[1]);
    }
    expect(ran(first.events)).toEqual(['build hello', 'build quote', 'compile hello', 'push hello', 'push quote']);

    // Same inputs in another clone (other path, fresh mtimes, no compile output yet) → same tags.
    const b = await clone();
    const other = await devloopBuild(b);
    expect(other.builds.map((x) => x.tag.split('@')[0])).toEqual(first.builds.map((x) => x.tag.split('@')[0]));

    // No change: no compile, no docker build, no push.
    const noop = await devloopBuild(a);
    expect(ran(noop.events)).toEqual([]);
    expect(noop.events.filter((e) => e.type === 'stage' && e.status === 'start')).toEqual([]);
    expect(noop.events.filter((e) => e.type === 'log')).toEqual([]);
    expect(noop.events.filter((e) => e.type === 'artifact').map((e) => e.type === 'artifact' && e.cached)).toEqual([true, true]);
    expect(noop.builds).toEqual(first.builds);

    // One input file of one artifact changes: only that artifact is rebuilt.
    await appendFile(join(a, 'examples/hello/quote/www/index.html'), '<!-- changed -->\n');
    const changed = await devloopBuild(a);
    expect(ran(changed.events)).toEqual(['build quote', 'push quote']);
    expect(changed.builds.find((x) => x.image === 'hello')).toEqual(first.builds.find((x) => x.image === 'hello'));
    const quote = changed.builds.find((x) => x.image === 'quote')!;
    expect(quote.tag).not.toEqual(first.builds.find((x) => x.image === 'quote')!.tag);
    expect(await registryDigest(quote.tag)).toBe(quote.tag.split('@')[1]);

    // A Go source change rebuilds hello, compile included.
    await writeFile(join(a, 'examples/hello/hello/extra.go'), 'package main\n\nconst extra = 1\n');
    const compiled = await devloopBuild(a);
    expect(ran(compiled.events)).toEqual(['build hello', 'compile hello', 'push hello']);
  }, 300_000);
});
