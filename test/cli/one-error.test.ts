/**
 * Each failure is reported exactly once, by the command boundary: one `error` event in
 * `--output json` and one `error:` line in the terminal view per failure, whatever the command and
 * the kind of failure (compile, config, usage, pre-flight, render, apply). Runs the built CLI
 * against the fake API server; no Docker needed (nothing gets as far as an image build).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/services.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { devloop, ensureBuilt } from './helpers.js';

const header = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: once}\n';
const failingArtifact = (image: string) => `    - image: ${image}\n      context: ${image}\n      compile: {command: [sh, -c, "echo boom; exit 3"]}\n`;

let dir: string;
let home: string;
let fake: FakeKube;
let closedRegistry: string;

beforeAll(async () => {
  await ensureBuilt();
  fake = await startFakeKube();
  closedRegistry = `127.0.0.1:${await freePort()}`;
  home = await tempTree('devloop-home-');
  dir = await tempTree('devloop-once-', {
    'web/Dockerfile': 'FROM scratch\n',
    'api/Dockerfile': 'FROM scratch\n',
    'k8s/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: once}\ndata: {a: b}\n',
    'k8s-foo/foo.yaml': 'apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: foo}\n',
    'broken/x.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n',
    'builds.json': JSON.stringify({ builds: [] }),
    'compile.yaml': `${header}build:\n  push: false\n  artifacts:\n${failingArtifact('web')}manifests: ["k8s/*.yaml"]\n`,
    'two.yaml': `${header}build:\n  push: false\n  artifacts:\n${failingArtifact('web')}${failingArtifact('api')}manifests: []\n`,
    'push.yaml': `${header}build:\n  push: true\n  defaultRepo: ${closedRegistry}\n  artifacts:\n${failingArtifact('web')}manifests: []\n`,
    'bad.yaml': `${header}build:\n  artifacts:\n    - image: a\n      contxt: .\n`,
    'foo.yaml': `${header}build: {artifacts: []}\nmanifests: ["k8s-foo/*.yaml"]\n`,
    'broken.yaml': `${header}build: {artifacts: []}\nmanifests: ["broken/*.yaml"]\n`,
  });
}, 120_000);
afterAll(async () => {
  await fake?.stop();
  await removeTemps();
});

interface Scenario {
  name: string;
  args: string[];
  /** With the fake cluster's kubeconfig, or with none at all. */
  cluster: boolean;
  /** The error codes, one per failure, in order. */
  codes: string[];
}

const scenarios: Scenario[] = [
  { name: 'build: a failing compile', args: ['build', '-f', 'compile.yaml'], cluster: false, codes: ['COMPILE_FAILED'] },
  { name: 'run: a failing compile', args: ['run', '-f', 'compile.yaml'], cluster: true, codes: ['COMPILE_FAILED'] },
  { name: 'dev: a failing start-up (no cluster)', args: ['dev', '-f', 'compile.yaml'], cluster: false, codes: ['KUBECONFIG_MISSING'] },
  { name: 'build: two artifacts failing (one error each)', args: ['build', '-f', 'two.yaml'], cluster: false, codes: ['COMPILE_FAILED', 'COMPILE_FAILED'] },
  { name: 'build: an invalid config', args: ['build', '-f', 'bad.yaml'], cluster: false, codes: ['CONFIG_INVALID'] },
  { name: 'run: no kubeconfig', args: ['run', '-f', 'compile.yaml'], cluster: false, codes: ['KUBECONFIG_MISSING'] },
  { name: 'run: no kubeconfig and no registry (one error per check)', args: ['run', '-f', 'push.yaml'], cluster: false, codes: ['KUBECONFIG_MISSING', 'REGISTRY_UNREACHABLE'] },
  { name: 'build: the registry does not answer', args: ['build', '-f', 'push.yaml'], cluster: false, codes: ['REGISTRY_UNREACHABLE'] },
  { name: 'deploy: a missing --build-artifacts file', args: ['deploy', '-f', 'compile.yaml', '--build-artifacts', 'missing.json'], cluster: true, codes: ['USAGE'] },
  { name: 'deploy: a kind the cluster does not know (apply)', args: ['deploy', '-f', 'foo.yaml', '--build-artifacts', 'builds.json'], cluster: true, codes: ['KUBE_UNKNOWN_KIND'] },
  { name: 'render: invalid manifest YAML', args: ['render', '-f', 'broken.yaml', '--out', 'out.yaml'], cluster: false, codes: ['MANIFEST_INVALID_YAML'] },
  { name: 'delete: no kubeconfig', args: ['delete', '-f', 'compile.yaml'], cluster: false, codes: ['KUBECONFIG_MISSING'] },
];

describe('one failure, one error event', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const env = { KUBECONFIG: scenario.cluster ? fake.kubeconfigPath : undefined, HOME: home };
      const json = await devloop([...scenario.args, '-o', 'json', '-n', 'default'], dir, env);
      expect(json.exitCode, json.stderr).not.toBe(0);
      const events = json.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { type: string; code?: string; artifact?: string });
      const errors = events.filter((e) => e.type === 'error');
      expect(errors.map((e) => e.code)).toEqual(scenario.codes);
      // Two failures of the same kind are told apart by their artifact, never the same one twice.
      expect(new Set(errors.map((e) => `${e.code} ${e.artifact ?? ''}`)).size).toBe(errors.length);

      const text = await devloop([...scenario.args, '-n', 'default'], dir, env);
      expect(text.exitCode).toBe(json.exitCode);
      const lines = text.stderr.split('\n').filter((line) => line.startsWith('error: '));
      expect(lines, text.stderr).toHaveLength(scenario.codes.length);
    });
  }
});
