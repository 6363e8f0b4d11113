/**
 * The dev loop's decisions and failure handling, fast: `runDev` against a fake bench of stages
 * (bench.ts) that records the sequence of calls. The planner and the input rules are the real ones.
 * The end-to-end suites (test/dev/) show the same loop against real builds and a cluster.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FileChange } from '../../src/plan/index.js';
import { loadedConfig } from '../support/config.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { artifacts, Bench } from './bench.js';

let dir: string;
const w = (rel: string): FileChange => ({ path: join(dir, rel), kind: 'write' });
const config = (over: Parameters<typeof loadedConfig>[1] = {}) => loadedConfig(dir, { manifests: ['k8s/*.yaml'], build: { artifacts: artifacts(dir) }, ...over });

let bench: Bench;
beforeEach(async () => {
  dir = await tempTree('devloop-loop-', {
    '.git/HEAD': 'ref: refs/heads/main\n',
    'devloop.yaml': 'apiVersion: devloop/v1\n',
    'hello/.gitignore': 'bin/\n',
    'hello/Dockerfile': 'FROM scratch\n',
    'hello/main.go': 'package main\n',
    'hello/public/index.html': 'hi\n',
    'quote/Dockerfile': 'FROM scratch\n',
    'quote/quote.txt': 'q\n',
    'k8s/app.yaml': 'kind: Service\n',
  });
  bench = new Bench(config());
});
afterAll(removeTemps);

/** Starts the session and forgets the initial run's calls. */
async function settled(options?: Parameters<Bench['start']>[0]): Promise<void> {
  await bench.start(options);
  bench.take();
}

describe('dev loop (fake bench)', () => {
  it('starts with a full run: session, logs, watcher, every artifact built with compile, deploy, forwards', async () => {
    await bench.start();
    expect(bench.take()).toEqual([
      'load config',
      'begin session',
      'logs start',
      'watch',
      'build hello+compile quote',
      'deploy hello:v1 quote:v1',
      'forwards start',
    ]);
    expect(bench.iterations().map((e) => [e.n, e.status, e.reason])).toEqual([
      [1, 'start', 'initial build and deploy'],
      [1, 'ok', 'initial build and deploy'],
    ]);
    await bench.stop();
  });

  it('a synced file: only a sync, no build, no deploy', async () => {
    await settled();
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['sync hello /app/public/index.html']);
    expect(bench.iterations().at(-1)).toMatchObject({ n: 2, status: 'ok', reason: 'sync hello: public/index.html changed' });
    await bench.stop();
  });

  it('a source file: that artifact rebuilt with compile, deployed with the other one as it was, forwards refreshed', async () => {
    await settled();
    await bench.save(w('hello/main.go'));
    expect(bench.take()).toEqual(['build hello+compile', 'deploy hello:v2 quote:v1', 'forwards refresh']);
    await bench.save(w('quote/quote.txt'));
    expect(bench.take()).toEqual(['build quote', 'deploy hello:v2 quote:v3', 'forwards refresh']);
    await bench.stop();
  });

  it('a manifest: deploy only; files nothing ran (not a file of any input): no iteration', async () => {
    await settled();
    await bench.save(w('k8s/app.yaml'));
    expect(bench.take()).toEqual(['deploy hello:v1 quote:v1', 'forwards refresh']);
    await bench.save(w('notes.txt'), w('hello/bin/hello.log'));
    expect(bench.take()).toEqual([]);
    expect(bench.iterations().filter((e) => e.status === 'start')).toHaveLength(2);
    await bench.stop();
  });

  it('sync unavailable: the same iteration rebuilds (no compile) and deploys; later changes rebuild without trying to sync', async () => {
    await settled();
    bench.noTar.add('hello');
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['sync hello /app/public/index.html', 'build hello', 'deploy hello:v2 quote:v1', 'forwards refresh']);
    expect(bench.notices('warn')).toEqual([expect.stringMatching(/^cannot sync into hello: no tar; rebuilding hello instead from now on$/)]);
    expect(bench.iterations().at(-1)).toMatchObject({ status: 'ok' });
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['build hello', 'deploy hello:v3 quote:v1', 'forwards refresh']);
    await bench.stop();
  });

  it('a sync that finds no container fails the iteration; the next change rebuilds and deploys', async () => {
    await settled();
    bench.noContainers.add('hello');
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['sync hello /app/public/index.html']);
    expect(bench.iterations().at(-1)).toMatchObject({ status: 'error', reason: 'no running container of hello' });
    bench.noContainers.delete('hello');
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['build hello', 'deploy hello:v2 quote:v1', 'forwards refresh']);
    await bench.stop();
  });

  it('a failed build ends the iteration without deploying, the loop goes on, and the next save retries', async () => {
    await settled();
    bench.failBuild.add('hello');
    await bench.save(w('hello/main.go'), w('quote/quote.txt'));
    expect(bench.take()).toEqual(['build hello+compile quote']);
    expect(bench.iterations().at(-1)).toMatchObject({ n: 2, status: 'error', reason: 'hello failed to build' });
    expect(bench.notices('info').at(-1)).toBe('the previous version keeps running; save again to retry');
    bench.failBuild.delete('hello');
    await bench.save(w('hello/main.go'));
    // quote's build of the failed iteration (v2) is kept: it goes out with the fixed hello
    expect(bench.take()).toEqual(['build hello+compile', 'deploy hello:v3 quote:v2', 'forwards refresh']);
    expect(bench.iterations().at(-1)).toMatchObject({ n: 3, status: 'ok' });
    await bench.stop();
  });

  it('a failed first build: nothing runs, so a synced file rebuilds and deploys (no sync into nothing)', async () => {
    bench.failBuild.add('hello');
    await bench.start();
    expect(bench.take()).toContain('build hello+compile quote');
    expect(bench.iterations().at(-1)).toMatchObject({ n: 1, status: 'error' });
    bench.failBuild.delete('hello');
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['build hello+compile', 'deploy hello:v2 quote:v1', 'forwards start']);
    await bench.stop();
  });

  it('devloop.yaml changed: the config is loaded again, the watcher re-scoped, every artifact of the new config built (only those deployed)', async () => {
    await settled();
    bench.config = config({ build: { artifacts: artifacts(dir).slice(1) } }); // hello removed
    await bench.save(w('devloop.yaml'), w('hello/main.go'));
    expect(bench.take()).toEqual(['load config', 'watch', 'watch close', 'build quote', 'deploy quote:v2', 'forwards refresh']);
    expect(bench.iterations().at(-1)).toMatchObject({ status: 'ok', reason: 'reload config: devloop.yaml changed' });
    // the new rules apply: hello's files are no input any more
    await bench.save(w('hello/main.go'));
    expect(bench.take()).toEqual([]);
    await bench.stop();
  });

  it('a broken devloop.yaml keeps the previous config running and says why', async () => {
    await settled();
    bench.config = new Error('devloop.yaml:3: build.artifacts[0].image is required');
    await bench.save(w('devloop.yaml'));
    expect(bench.take()).toEqual(['load config']);
    expect(bench.iterations().at(-1)).toMatchObject({ status: 'error', reason: expect.stringMatching(/^devloop\.yaml is invalid, still running the previous config: /) });
    await bench.save(w('hello/public/index.html'));
    expect(bench.take()).toEqual(['sync hello /app/public/index.html']);
    await bench.stop();
  });

  it('r rebuilds every artifact with compile and deploys', async () => {
    await settled();
    await bench.rebuildAll();
    expect(bench.take()).toEqual(['build hello+compile quote', 'deploy hello:v2 quote:v2', 'forwards refresh']);
    expect(bench.iterations().at(-1)).toMatchObject({ n: 2, status: 'ok', reason: 'rebuild all (r)' });
    await bench.stop();
  });

  it('after files were synced, a manifest change also rebuilds that artifact (a restarted pod would lose them)', async () => {
    await settled();
    await bench.save(w('hello/public/index.html'));
    bench.take();
    await bench.save(w('k8s/app.yaml'));
    expect(bench.take()).toEqual(['build hello', 'deploy hello:v2 quote:v1', 'forwards refresh']);
    await bench.stop();
  });

  it('Ctrl-C: watcher, forwards and logs closed, the session\'s objects deleted, the session ended', async () => {
    await settled();
    expect(await bench.stop()).toBe(0);
    expect(bench.take()).toEqual(['watch close', 'forwards close', 'logs close', 'cleanup', 'end session']);
  });

  it('Ctrl-C with --cleanup=false leaves the objects and says how to delete them', async () => {
    await settled({ dev: { cleanup: false } });
    await bench.stop();
    expect(bench.take()).toEqual(['watch close', 'forwards close', 'logs close', 'end session']);
    expect(bench.notices('info').at(-1)).toMatch(/--cleanup=false.*devloop delete/);
  });
});
