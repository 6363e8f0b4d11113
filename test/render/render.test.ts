import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifests } from '../../src/render/parse.js';
import { replacementFor, rewriteImages } from '../../src/render/images.js';
import { splitImageReference as parseImageReference } from '../../src/registry/reference.js';
import { renderObjects, renderManifests, toYaml, type KubeObject } from '../../src/render/index.js';
import { DevloopError } from '../../src/errors.js';
import type { LoadedConfig } from '../../src/config/types.js';
import { loadedConfig as sharedLoadedConfig } from '../support/config.js';

const HELLO = { image: 'hello', ref: '127.0.0.1:5000/hello:abc@sha256:1111' };
const QUOTE = { image: 'quote', ref: '127.0.0.1:5000/quote:def@sha256:2222' };

function podSpec(...images: string[]) {
  return { containers: images.map((image, i) => ({ name: `c${i}`, image })) };
}

function loadedConfig(dir: string, manifests: string[], imagePaths: LoadedConfig['config']['render']['imagePaths'] = []): LoadedConfig {
  return sharedLoadedConfig(dir, {
    metadata: { name: 'demo' },
    build: { defaultRepo: '127.0.0.1:5000' },
    manifests,
    render: { imagePaths },
    deploy: { statusCheck: { timeout: 120_000 } },
  });
}

describe('image references', () => {
  it('splits repository, tag and digest, including registry ports', () => {
    expect(parseImageReference('127.0.0.1:5000/a/hello:v1')).toEqual({ repository: '127.0.0.1:5000/a/hello', tag: 'v1', digest: undefined });
    expect(parseImageReference('hello')).toEqual({ repository: 'hello', digest: undefined });
    expect(parseImageReference('hello@sha256:ab').digest).toBe('sha256:ab');
  });

  it('matches an artifact with or without a tag, never a digest-pinned reference', () => {
    expect(replacementFor('hello', [HELLO])).toBe(HELLO.ref);
    expect(replacementFor('hello:latest', [HELLO])).toBe(HELLO.ref);
    expect(replacementFor('hello@sha256:ffff', [HELLO])).toBeUndefined();
    expect(replacementFor('hello-world', [HELLO])).toBeUndefined();
    expect(replacementFor('other/hello', [HELLO])).toBeUndefined();
  });

  it('rewrites containers, initContainers and ephemeralContainers of every workload kind', () => {
    const workloads: KubeObject[] = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { ...podSpec('hello'), initContainers: [{ name: 'i', image: 'quote:1' }], ephemeralContainers: [{ name: 'e', image: 'hello' }] } },
      ...['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].map((kind) => ({ apiVersion: 'apps/v1', kind, metadata: { name: 'w' }, spec: { template: { spec: podSpec('hello', 'busybox') } } })),
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: podSpec('hello') } } },
      { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: { spec: podSpec('hello') } } },
      { apiVersion: 'example.com/v1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: { spec: podSpec('hello') } } },
    ];
    for (const workload of workloads) expect(rewriteImages(workload, [HELLO, QUOTE]), workload.kind).toBeGreaterThan(0);
    expect(workloads[0]!.spec).toMatchObject({ containers: [{ image: HELLO.ref }], initContainers: [{ image: QUOTE.ref }], ephemeralContainers: [{ image: HELLO.ref }] });
    expect((workloads[1]!.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers.map((c) => c.image)).toEqual([HELLO.ref, 'busybox']);
  });

  it('rewrites CronJob job templates and custom resource paths', () => {
    const cron: KubeObject = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: podSpec('hello') } } } } };
    expect(rewriteImages(cron, [HELLO])).toBe(1);
    const custom: KubeObject = { apiVersion: 'example.com/v1', kind: 'Game', metadata: { name: 'g' }, spec: { image: 'hello', workers: [{ image: 'quote' }, { image: 'nginx' }] } };
    const rules = [
      { kind: 'Game', group: 'example.com', path: '.spec.image' },
      { kind: 'Game', group: 'example.com', path: '.spec.workers[].image' },
    ];
    expect(rewriteImages(custom, [HELLO, QUOTE], rules)).toBe(2);
    expect(custom.spec).toEqual({ image: HELLO.ref, workers: [{ image: QUOTE.ref }, { image: 'nginx' }] });
    const otherGroup: KubeObject = { apiVersion: 'other.io/v1', kind: 'Game', metadata: { name: 'g' }, spec: { image: 'hello' } };
    expect(rewriteImages(otherGroup, [HELLO], rules)).toBe(0);
  });
});

describe('parsing', () => {
  it('reads multi-document YAML with the line of each document, skipping empty ones', () => {
    const text = 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n---\n# comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n';
    const objects = parseManifests(text, 'k8s/a.yaml');
    expect(objects.map((o) => [o.object.metadata.name, o.source.line])).toEqual([['a', 1], ['b', 7]]);
  });

  it('reports invalid YAML with file:line', () => {
    const text = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b\n  labels: [x\n';
    const error = (() => { try { parseManifests(text, 'k8s/bad.yaml'); } catch (e) { return e; } })() as DevloopError;
    expect(error).toBeInstanceOf(DevloopError);
    expect(error.code).toBe('MANIFEST_INVALID_YAML');
    expect(error.message).toMatch(/^k8s\/bad\.yaml:(8|9|10): invalid YAML/);
  });

  it('names the file and line of an object without kind or name', () => {
    expect(() => parseManifests('apiVersion: v1\nmetadata: {name: a}\n', 'x.yaml')).toThrow('x.yaml:1: object has no kind');
    expect(() => parseManifests('a: 1\n---\napiVersion: v1\nkind: Pod\nmetadata: {}\n', 'x.yaml')).toThrow(/x\.yaml:1: object has no apiVersion/);
    expect(() => parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {}\n', 'x.yaml')).toThrow('x.yaml:1: Pod has no metadata.name');
  });

  it('expands List objects', () => {
    const objects = parseManifests('apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n', 'l.yaml');
    expect(objects.map((o) => o.object.kind)).toEqual(['ConfigMap']);
  });
});

describe('renderObjects', () => {
  const parsed = parseManifests(
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hello\n  labels: {app: hello}\nspec:\n  selector: {matchLabels: {app: hello}}\n  template:\n    metadata: {labels: {app: hello}}\n    spec:\n      containers: [{name: hello, image: "hello:latest"}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: hello}\nspec: {selector: {app: hello}, ports: [{port: 80}]}\n',
    'k8s/hello.yaml',
  );

  it('labels objects and pod templates, adds the run id only when given, and leaves the input untouched', () => {
    const { objects, unusedImages } = renderObjects(parsed, { configName: 'demo', images: [HELLO, QUOTE], imagePaths: [], runId: 'r1' });
    expect(unusedImages).toEqual(['quote']);
    const deployment = objects[0]!.object;
    expect(deployment.metadata.labels).toEqual({ app: 'hello', 'app.kubernetes.io/managed-by': 'devloop', 'devloop.dev/config': 'demo', 'devloop.dev/run-id': 'r1' });
    expect(deployment.spec).toMatchObject({ selector: { matchLabels: { app: 'hello' } }, template: { metadata: { labels: { 'devloop.dev/run-id': 'r1' } } } });
    expect(parsed[0]!.object.metadata.labels).toEqual({ app: 'hello' });
    const withoutRun = renderObjects(parsed, { configName: 'demo', images: [HELLO], imagePaths: [] });
    expect(withoutRun.objects[1]!.object.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'devloop', 'devloop.dev/config': 'demo' });
  });

  it('prints deterministic YAML in the order written', () => {
    const once = toYaml(renderObjects(parsed, { configName: 'demo', images: [HELLO], imagePaths: [] }).objects.map((o) => o.object));
    const twice = toYaml(renderObjects(parsed, { configName: 'demo', images: [HELLO], imagePaths: [] }).objects.map((o) => o.object));
    expect(once).toBe(twice);
    expect(once.split('---\n')).toHaveLength(2);
    expect(once.indexOf('apiVersion')).toBe(0);
    expect(once).toContain(`image: ${HELLO.ref}`);
  });
});

describe('renderManifests', () => {
  it('reads the globs relative to the config folder in a stable order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devloop-render-'));
    try {
      await mkdir(join(dir, 'k8s', 'sub'), { recursive: true });
      await writeFile(join(dir, 'k8s', 'b.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
      await writeFile(join(dir, 'k8s', 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
      await writeFile(join(dir, 'k8s', 'sub', 'c.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
      const rendered = await renderManifests({ loaded: loadedConfig(dir, ['k8s/*.yaml', 'k8s/**/*.yml']), images: [] });
      expect(rendered.objects.map((o) => `${o.source.file}:${o.object.metadata.name}`)).toEqual(['k8s/a.yaml:a', 'k8s/b.yaml:b', 'k8s/sub/c.yml:c']);
      await expect(renderManifests({ loaded: loadedConfig(dir, ['nothing/*.yaml']), images: [] })).rejects.toThrow(/no manifest file matches/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
