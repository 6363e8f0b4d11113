/**
 * Fault: exit codes after a signal follow the shell convention (128 + signal), as the README says:
 * one Ctrl-C (SIGINT) → 130, SIGTERM → 143 — also when the command cleans up and ends normally
 * (`run --tail` streaming logs), so a script can tell an interrupted run from a finished one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { copyExampleProject, CLI } from '../run/support.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { registryBinaryAvailable, servicesRequired, testRegistry } from '../support/services.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
// The daemonless build pushes to the test run's registry (skipped without one, unless services are required).
const hasRegistry = servicesRequired || registryBinaryAvailable() || Boolean(process.env.DEVLOOP_TEST_REGISTRY);

let fake: FakeKube;
beforeAll(async () => {
  fake = await startFakeKube();
});
afterAll(async () => {
  await fake?.stop();
  await removeTemps();
});

/** Runs the CLI, sends `signal` once `ready` appears on stderr, resolves with the exit code and output. */
function interrupt(cwd: string, args: string[], ready: string, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [CLI, ...args], { cwd, env: { ...process.env, KUBECONFIG: fake.kubeconfigPath, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`no "${ready}" within 60s: ${stderr}`))), 60_000);
    const onData = (chunk: Buffer): void => {
      stderr += chunk.toString();
      if (!sent && stderr.includes(ready)) {
        sent = true;
        child.kill(signal);
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('exit codes after a signal', () => {
  it('SIGTERM while waiting for the rollout exits 143', async () => {
    const project = await copyExampleProject();
    try {
      await writeFile(join(project.dir, 'tags.json'), JSON.stringify({ builds: [{ image: 'hello', tag: `registry.example.com/slow:1@${DIGEST}` }, { image: 'quote', tag: `registry.example.com/quote:1@${DIGEST}` }] }));
      fake.controls.failImage(/slow/, 'NotReady');
      const result = await interrupt(project.dir, ['deploy', '--build-artifacts', 'tags.json', '--status-check-timeout', '60s', '--verbose'], '▸ status', 'SIGTERM');
      expect(result.code, result.stderr).toBe(143);
      expect(result.stderr).toContain('SIGTERM received');
    } finally {
      fake.controls.clearFailures();
      await project.remove();
    }
  }, 90_000);

  it.skipIf(!hasRegistry)('one Ctrl-C ends `run --tail` with 130 after it stops streaming', async () => {
    const dir = await tempTree('devloop-faults-signal-', {
      'devloop.yaml': `apiVersion: devloop/v1
kind: Config
metadata: {name: tail}
build:
  defaultRepo: ${await testRegistry()}/devloop-faults
  push: true
  artifacts:
    - image: web
      context: web
      oci: {from: scratch, layers: [{from: index.html, to: /www/index.html}]}
manifests: ["k8s/*.yaml"]
`,
      'web/index.html': 'hi\n',
      'k8s/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: tail-web}
spec:
  selector: {matchLabels: {app: tail-web}}
  template:
    metadata: {labels: {app: tail-web}}
    spec:
      containers: [{name: web, image: web}]
`,
    });
    const result = await interrupt(dir, ['run', '--tail'], 'iteration 1 ok in ', 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
  }, 90_000);
});
