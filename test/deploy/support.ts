/** Shared setup for deploy tests: a fake API server, a KubeClient on it, rendered example objects. */
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import { createDeployApi, type DeployApi } from '../../src/deploy/api.js';
import { parseManifests } from '../../src/render/parse.js';
import { renderObjects } from '../../src/render/index.js';
import type { ManifestObject } from '../../src/render/types.js';
import type { DevloopEventBody } from '../../src/events/types.js';
import { DevloopError } from '../../src/errors.js';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../support/fake-kube/index.js';

export interface Harness {
  fake: FakeKube;
  kube: KubeClient;
  api: DeployApi;
  events: DevloopEventBody[];
  emit: (event: DevloopEventBody) => void;
}

export async function startHarness(options: FakeKubeOptions = {}): Promise<Harness> {
  const fake = await startFakeKube(options);
  const previous = process.env.KUBECONFIG;
  process.env.KUBECONFIG = fake.kubeconfigPath;
  try {
    const kube = await createKubeClient();
    const events: DevloopEventBody[] = [];
    return { fake, kube, api: createDeployApi(kube), events, emit: (event) => events.push(event) };
  } finally {
    if (previous === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previous;
  }
}

/** Awaits a call expected to fail with a DevloopError and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<DevloopError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DevloopError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

export function rendered(yaml: string, images: { image: string; ref: string }[] = [], file = 'k8s/app.yaml', runId?: string): ManifestObject[] {
  return renderObjects(parseManifests(yaml, file), { configName: 'demo', images, imagePaths: [], runId }).objects;
}

export const DEPLOYMENT = (name: string, image: string, extra = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: ${name}
          image: ${image}
          ports: [{containerPort: 8080}]${extra}
`;

export const SERVICE = (name: string): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: 8080}]
`;
