/**
 * Kustomize and Helm without a cluster: which files a kustomization or chart is made from (the
 * planner's "manifest input" set), `helm template` arguments, dependency staleness, output splitting,
 * error lines, tool lookup and the config keys. Runs kubectl/helm only where they are installed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isManifestInput, kustomizationInputs, manifestInputFolders, manifestInputs } from '../../src/inputs/manifests.js';
import { dependenciesStale, findHelm, helmErrorLine, helmTemplateArgs, splitHelmOutput } from '../../src/render/helm.js';
import { findKustomize, kustomizeErrorLine } from '../../src/render/kustomize.js';
import { readManifests } from '../../src/render/index.js';
import { findExecutable, cachedHelmPath } from '../../src/render/tools.js';
import { manifestMatcher } from '../../src/plan/rules.js';
import { noSelfWrites, plan } from '../../src/plan/index.js';
import { loadConfigText } from '../../src/config/load.js';
import { DevloopError } from '../../src/errors.js';
import { loadedConfig } from '../support/config.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devloop-kh-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(rel: string, text: string): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function overlayProject(): Promise<void> {
  await write('k8s/base/kustomization.yaml', 'resources: [deploy.yaml, svc]\ncrds: [crd.yaml]\nconfigurations: [conf.yaml]\n');
  await write('k8s/base/deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n');
  await write('k8s/base/svc/kustomization.yml', 'resources: [service.yaml]\n');
  await write('k8s/base/svc/service.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\n');
  await write('k8s/base/crd.yaml', '');
  await write('k8s/base/conf.yaml', '');
  await write(
    'k8s/overlays/dev/kustomization.yaml',
    [
      'resources: [../../base, https://example.com/remote.yaml, "github.com/org/repo//x?ref=v1"]',
      'components: [../../components/debug]',
      'patches:',
      '  - path: patch.yaml',
      '  - patch: |-',
      '      - op: replace',
      '        path: /spec/replicas',
      '        value: 2',
      '    target: {kind: Deployment}',
      'patchesStrategicMerge: [psm.yaml]',
      'patchesJson6902: [{path: json.yaml, target: {kind: Deployment, name: web}}]',
      'replacements: [{path: repl.yaml}]',
      'configMapGenerator:',
      '  - name: cfg',
      '    files: [greeting.txt, key=other.txt]',
      '    envs: [app.env]',
      'secretGenerator:',
      '  - name: s',
      '    env: secret.env',
      'openapi: {path: schema.json}',
      '',
    ].join('\n'),
  );
  for (const file of ['patch.yaml', 'psm.yaml', 'json.yaml', 'repl.yaml', 'greeting.txt', 'other.txt', 'app.env', 'secret.env', 'schema.json', 'unused.yaml']) {
    await write(`k8s/overlays/dev/${file}`, '');
  }
  await write('k8s/components/debug/kustomization.yaml', 'kind: Component\npatches: [{path: debug.yaml}]\n');
  await write('k8s/components/debug/debug.yaml', '');
}

describe('kustomization inputs', () => {
  it('resolves every file an overlay uses, nested bases and components included, and nothing else', async () => {
    await overlayProject();
    const files = [...kustomizationInputs(join(dir, 'k8s/overlays/dev'))].map((f) => f.slice(dir.length + 1)).sort();
    expect(files).toEqual(
      [
        'k8s/base/conf.yaml',
        'k8s/base/crd.yaml',
        'k8s/base/deploy.yaml',
        'k8s/base/kustomization.yaml',
        'k8s/base/svc/kustomization.yml',
        'k8s/base/svc/service.yaml',
        'k8s/components/debug/debug.yaml',
        'k8s/components/debug/kustomization.yaml',
        'k8s/overlays/dev/app.env',
        'k8s/overlays/dev/greeting.txt',
        'k8s/overlays/dev/json.yaml',
        'k8s/overlays/dev/kustomization.yaml',
        'k8s/overlays/dev/other.txt',
        'k8s/overlays/dev/patch.yaml',
        'k8s/overlays/dev/psm.yaml',
        'k8s/overlays/dev/repl.yaml',
        'k8s/overlays/dev/schema.json',
        'k8s/overlays/dev/secret.env',
      ].sort(),
    );
  });

  it('survives a cycle and a broken kustomization (which then names only itself)', async () => {
    await write('a/kustomization.yaml', 'resources: [../b]\n');
    await write('b/kustomization.yaml', 'resources: [../a, x.yaml]\n');
    await write('c/kustomization.yaml', 'resources: [ok.yaml\n  bad: [\n');
    expect([...kustomizationInputs(join(dir, 'a'))].map((f) => f.slice(dir.length + 1)).sort()).toEqual(['a/kustomization.yaml', 'b/kustomization.yaml', 'b/x.yaml']);
    expect([...kustomizationInputs(join(dir, 'c'))].map((f) => f.slice(dir.length + 1))).toEqual(['c/kustomization.yaml']);
  });

  it('the planner re-renders for a base outside the config folder', async () => {
    await write('shared-base/kustomization.yaml', 'resources: [deploy.yaml]\n');
    await write('shared-base/deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n');
    await write('proj/k8s/kustomization.yaml', 'resources: [../../shared-base]\n');
    const projDir = join(dir, 'proj');
    const loaded = loadedConfig(projDir, { deploy: { kustomize: { paths: ['k8s'], binary: '' } } });
    const decided = plan({
      changes: [{ path: join(dir, 'shared-base/deploy.yaml'), kind: 'write' }],
      configFile: loaded.file,
      configDir: projDir,
      isManifest: manifestMatcher(loaded),
      artifacts: [],
      state: { noSync: new Set(), syncedSinceBuild: new Set(), changedDuringLast: new Set(), selfWrites: noSelfWrites, built: new Set(), deployed: true },
    });
    expect(decided).toMatchObject({ redeploy: true, actions: [], changed: ['../shared-base/deploy.yaml'] });
  });

  it('the planner re-renders without a build for an overlay file, and ignores files no kustomization uses', async () => {
    await overlayProject();
    const loaded = loadedConfig(dir, { deploy: { kustomize: { paths: ['k8s/overlays/dev'], binary: '' } } });
    const isManifest = manifestMatcher(loaded);
    const decide = (rel: string) =>
      plan({
        changes: [{ path: join(dir, rel), kind: 'write' }],
        configFile: loaded.file,
        configDir: dir,
        isManifest,
        artifacts: [],
        state: { noSync: new Set(), syncedSinceBuild: new Set(), changedDuringLast: new Set(), selfWrites: noSelfWrites, built: new Set(), deployed: true },
      });
    for (const rel of ['k8s/overlays/dev/greeting.txt', 'k8s/base/svc/service.yaml', 'k8s/components/debug/debug.yaml']) {
      expect(decide(rel), rel).toMatchObject({ redeploy: true, actions: [], reload: false });
    }
    expect(decide('k8s/overlays/dev/unused.yaml')).toMatchObject({ redeploy: false, actions: [] });
    expect(decide('k8s/overlays/prod/kustomization.yaml')).toMatchObject({ redeploy: false });
  });

  it('watches the folders of the inputs (not below) and chart folders whole; helm dependency outputs are not inputs', async () => {
    await overlayProject();
    await write('chart/Chart.yaml', 'apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies: [{name: lib, version: 0.1.0, repository: "file://../lib"}]\n');
    await write('lib/Chart.yaml', 'apiVersion: v2\nname: lib\nversion: 0.1.0\n');
    await write('values-dev.yaml', '');
    const loaded = loadedConfig(dir, {
      deploy: {
        kustomize: { paths: ['k8s/overlays/dev'], binary: '' },
        helm: { binary: '', releases: [{ name: 'r', chart: 'chart', namespace: '', valuesFiles: ['values-dev.yaml'], setValues: {} }] },
      },
    });
    const inputs = manifestInputs(loaded);
    expect(manifestInputFolders(inputs).map((f) => [f.dir.slice(dir.length) || '/', f.recursive])).toEqual([
      ['/', false],
      ['/chart', true],
      ['/k8s/base', false],
      ['/k8s/base/svc', false],
      ['/k8s/components/debug', false],
      ['/k8s/overlays/dev', false],
      ['/lib', true],
    ]);
    expect(isManifestInput(inputs, join(dir, 'chart/templates/deployment.yaml'))).toBe(true);
    expect(isManifestInput(inputs, join(dir, 'lib/templates/cm.yaml'))).toBe(true);
    expect(isManifestInput(inputs, join(dir, 'values-dev.yaml'))).toBe(true);
    expect(isManifestInput(inputs, join(dir, 'chart/charts/lib-0.1.0.tgz'))).toBe(false);
    expect(isManifestInput(inputs, join(dir, 'chart/Chart.lock'))).toBe(false);
    expect(isManifestInput(inputs, join(dir, 'chart/tmpcharts/lib-0.1.0.tgz'))).toBe(false);
  });
});

describe('helm', () => {
  const release = { name: 'demo', chart: 'chart', namespace: '', valuesFiles: ['values-dev.yaml', '/abs/more.yaml'], setValues: { 'image.tag': 'x', list: 'a,b', path: 'c:\\d' } };

  it('builds helm template arguments: release, chart, namespace, CRDs, no tests, values files, --set with commas escaped', () => {
    expect(helmTemplateArgs(release, '/p', 'ns1')).toEqual([
      'template',
      'demo',
      '/p/chart',
      '--namespace',
      'ns1',
      '--include-crds',
      '--skip-tests',
      '--values',
      '/p/values-dev.yaml',
      '--values',
      '/abs/more.yaml',
      '--set',
      'image.tag=x',
      '--set',
      'list=a\\,b',
      '--set',
      'path=c:\\\\d',
    ]);
  });

  it('dependencies are stale when charts/ lacks one or is older than Chart.yaml or a file:// dependency', async () => {
    const chart = join(dir, 'chart');
    await write('chart/Chart.yaml', 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
    expect(dependenciesStale(chart)).toBe(false); // no dependencies
    await write('chart/Chart.yaml', 'apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies: [{name: lib, version: 0.1.0, repository: "file://../lib"}]\n');
    await write('lib/templates/cm.yaml', '');
    expect(dependenciesStale(chart)).toBe(true); // no charts/
    const archive = await write('chart/charts/lib-0.1.0.tgz', '');
    const past = new Date(Date.now() - 60_000);
    for (const f of ['chart/Chart.yaml', 'lib/templates/cm.yaml']) await utimes(join(dir, f), past, past);
    expect(dependenciesStale(chart)).toBe(false);
    await writeFile(join(dir, 'lib/templates/cm.yaml'), 'changed');
    await utimes(archive, past, past);
    expect(dependenciesStale(chart)).toBe(true); // the dependency's source is newer
    await rm(archive);
    await mkdir(join(dir, 'chart/charts/lib'));
    expect(dependenciesStale(chart)).toBe(false); // vendored as a folder: left alone
  });

  it('splits the output at its # Source comments, naming templates below the config folder', () => {
    const out = ['---', '# Source: web/templates/service.yaml', 'apiVersion: v1', 'kind: Service', '---', '# Source: web/charts/lib/templates/cm.yaml', 'kind: ConfigMap', ''].join('\n');
    expect(splitHelmOutput(out, 'web', 'deploy/chart').map((p) => p.source)).toEqual(['deploy/chart/templates/service.yaml', 'deploy/chart/charts/lib/templates/cm.yaml']);
    expect(splitHelmOutput('', 'web', 'chart')).toEqual([]);
  });

  it('error lines name the template below the config folder, by chart name or folder name', () => {
    expect(helmErrorLine(['Error: template: web/templates/bad.yaml:1:10: executing "web/templates/bad.yaml" at <.Values.x.y>: nil pointer', '', 'Use --debug flag'], 'web', 'deploy/chart')).toBe(
      'template: deploy/chart/templates/bad.yaml:1:10: executing "deploy/chart/templates/bad.yaml" at <.Values.x.y>: nil pointer',
    );
    expect(helmErrorLine(['Error: parse error at (chart/templates/x.yaml:3): unexpected "}"'], 'web', 'deploy/chart')).toBe('parse error at (deploy/chart/templates/x.yaml:3): unexpected "}"');
    expect(helmErrorLine(['Error: failed to parse values-dev.yaml: error converting YAML to JSON'], 'web', 'chart')).toBe('failed to parse values-dev.yaml: error converting YAML to JSON');
  });

  it('finds helm on PATH, else in ~/.cache/devloop-helm, else says where it looked', async () => {
    const bin = join(dir, 'bin');
    await write('bin/helm', '#!/bin/sh\n');
    await chmod(join(bin, 'helm'), 0o755);
    expect(findHelm('', dir, { PATH: bin, HOME: '/nowhere' })).toBe(join(bin, 'helm'));
    await write('home/.cache/devloop-helm/helm', '#!/bin/sh\n');
    await chmod(join(dir, 'home/.cache/devloop-helm/helm'), 0o755);
    expect(findHelm('', dir, { PATH: '/nowhere', HOME: join(dir, 'home') })).toBe(cachedHelmPath({ HOME: join(dir, 'home') }));
    expect(findHelm('bin/helm', dir, { PATH: '' })).toBe(join(bin, 'helm'));
    expect(() => findHelm('', dir, { PATH: '/nowhere', HOME: '/nowhere' })).toThrow(/deploy.helm: helm is not on PATH nor at \/nowhere\/.cache\/devloop-helm\/helm/);
    expect(() => findHelm('nohelm', dir, { PATH: '/nowhere' })).toThrow('deploy.helm.binary: nohelm not found');
  });
});

describe('kustomize', () => {
  it('prefers kubectl kustomize, else kustomize build; a named program decides by its name', async () => {
    for (const name of ['kubectl', 'kustomize']) {
      await write(`bin/${name}`, '#!/bin/sh\n');
      await chmod(join(dir, 'bin', name), 0o755);
    }
    const PATH = join(dir, 'bin');
    expect(findKustomize('', dir, { PATH })).toMatchObject({ args: ['kustomize'], label: 'kubectl kustomize' });
    expect(findKustomize('kustomize', dir, { PATH })).toMatchObject({ args: ['build'], label: 'kustomize build' });
    await rm(join(dir, 'bin/kubectl'));
    expect(findKustomize('', dir, { PATH })).toMatchObject({ file: join(dir, 'bin/kustomize'), args: ['build'] });
    const missing = (() => {
      try {
        findKustomize('', dir, { PATH: '/nowhere' });
      } catch (error) {
        return error as DevloopError;
      }
    })();
    expect(missing).toMatchObject({ code: 'RENDER_TOOL_NOT_FOUND', exitCode: 1, message: 'deploy.kustomize: neither kubectl nor kustomize is on PATH' });
    expect(findExecutable('kustomize', dir, { PATH: `/nowhere:${PATH}` })).toBe(join(dir, 'bin/kustomize'));
  });

  it('error lines: the file kustomize named, relative to the config folder, and what is wrong', () => {
    const klog = (err: string) => [`E1127 13:20:04.704813    6291 run.go:72] "command failed" err="${err.replace(/"/g, '\\"')}"`];
    expect(
      kustomizeErrorLine(
        klog(
          "accumulating resources: accumulation err='accumulating resources from 'missing.yaml': evalsymlink failure on '/p/k/base/missing.yaml' : lstat /p/k/base/missing.yaml: no such file or directory': must build at directory: not a valid directory: evalsymlink failure on '/p/k/base/missing.yaml' : lstat /p/k/base/missing.yaml: no such file or directory",
        ),
        '/p/k/ov',
        '/p',
      ),
    ).toBe('k/base/missing.yaml: no such file or directory');
    expect(
      kustomizeErrorLine(
        klog(
          "accumulating resources: accumulation err='accumulating resources from '../base': '/p/k/base' must resolve to a file': recursed accumulation of path '/p/k/base': accumulating resources: accumulating resources from 'dep.yaml': MalformedYAMLError: yaml: line 2: did not find expected ',' or '}' in File: dep.yaml",
        ),
        '/p/k/ov',
        '/p',
      ),
    ).toBe("k/base/dep.yaml: MalformedYAMLError: yaml: line 2: did not find expected ',' or '}'");
    // kubectl's multi-line form, and kustomize's own `Error:` line.
    expect(
      kustomizeErrorLine(
        ['E1127 run.go:72] "command failed" err=<', '\ttrouble configuring builtin PatchTransformer with config: `', '\tpath: p.yaml', '\t`: failed to get the patch file from path(p.yaml): evalsymlink failure on \'/p/ov/p.yaml\' : lstat /p/ov/p.yaml: no such file or directory', ' >'],
        '/p/ov',
        '/p',
      ),
    ).toBe('ov/p.yaml: no such file or directory');
    expect(kustomizeErrorLine(['Error: no matches for Id ConfigMap.v1.[noGrp]/b.[noNs]; failed to find unique target for patch ConfigMap.v1.[noGrp]/b.[noNs]'], '/p/ov', '/p')).toBe(
      'no matches for Id ConfigMap.v1.[noGrp]/b.[noNs]; failed to find unique target for patch ConfigMap.v1.[noGrp]/b.[noNs]',
    );
  });
});

describe('config', () => {
  const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\n';
  const load = (text: string) =>
    loadConfigText(text, { file: '/project/devloop.yaml', displayName: 'devloop.yaml', profiles: [], command: 'run', overrides: {}, env: {} });

  it('defaults: no kustomizations, no releases; with either, manifests defaults to none instead of k8s/*.yaml', async () => {
    expect((await load(head)).config.deploy).toMatchObject({ kustomize: { paths: [], binary: '' }, helm: { binary: '', releases: [] } });
    expect((await load(head)).config.manifests).toEqual(['k8s/*.yaml']);
    const kustomize = await load(`${head}deploy:\n  kustomize: {paths: [k8s/overlays/dev]}\n`);
    expect(kustomize.config.manifests).toEqual([]);
    const both = await load(`${head}manifests: [raw/*.yaml]\ndeploy:\n  helm:\n    releases: [{name: web, chart: chart, setValues: {replicas: 2}}]\n`);
    expect(both.config.manifests).toEqual(['raw/*.yaml']);
    expect(both.config.deploy.helm.releases).toEqual([{ name: 'web', chart: 'chart', namespace: '', valuesFiles: [], setValues: { replicas: '2' } }]);
  });

  it('bad keys are config errors naming the line', async () => {
    await expect(load(`${head}deploy:\n  helm:\n    releases: [{chart: c}]\n`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/devloop.yaml:6:16: deploy.helm.releases\[0\].name: missing required key/) });
    await expect(load(`${head}deploy:\n  helm:\n    releases: [{name: a, chart: c}, {name: a, chart: d}]\n`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('duplicate release "a"') });
    await expect(load(`${head}deploy:\n  kustomize: {path: [x]}\n`)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('unknown key, did you mean `paths`?') });
  });

  it('a kustomization path without a kustomization file is a config error (exit 2) naming the key and folder', async () => {
    await mkdir(join(dir, 'k8s/nope'), { recursive: true });
    const loaded = loadedConfig(dir, { deploy: { kustomize: { paths: ['k8s/nope'], binary: '' } } });
    await expect(readManifests(loaded)).rejects.toMatchObject({
      code: 'KUSTOMIZATION_NOT_FOUND',
      exitCode: 2,
      message: 'deploy.kustomize.paths[0]: k8s/nope has no kustomization.yaml, kustomization.yml, Kustomization',
    });
    const chart = loadedConfig(dir, { deploy: { helm: { binary: '', releases: [{ name: 'r', chart: 'nochart', namespace: '', valuesFiles: [], setValues: {} }] } } });
    await expect(readManifests(chart)).rejects.toMatchObject({ code: 'HELM_CHART_NOT_FOUND', exitCode: 2, message: 'deploy.helm.releases[0].chart: nochart has no readable Chart.yaml' });
  });

  it('a broken kustomization file is named with its line before kustomize runs', async () => {
    await write('k/ov/kustomization.yaml', 'resources: [../base]\n');
    await write('k/base/kustomization.yaml', 'resources:\n  - a.yaml\n bad: [\n');
    const loaded = loadedConfig(dir, { deploy: { kustomize: { paths: ['k/ov'], binary: '/nonexistent/kustomize' } } });
    await expect(readManifests(loaded)).rejects.toMatchObject({ code: 'KUSTOMIZE_FAILED', exitCode: 1, message: expect.stringMatching(/^k\/base\/kustomization.yaml:\d+: invalid YAML: /) });
  });
});
