/** Shared set-up for the fake-kube tests: a client-node client for a started fake. */
import { afterAll, beforeAll } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../support/fake-kube/index.js';

export interface Clients {
  kc: k8s.KubeConfig;
  objects: k8s.KubernetesObjectApi;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
}

export function clients(kube: FakeKube): Clients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  return { kc, objects: k8s.KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

/**
 * Starts a fake API server for the whole file (beforeAll, stopped in afterAll) and hands it and
 * its clients to `use`, e.g. `useFakeKube((started) => ({ kube, c } = started));`.
 */
export function useFakeKube(use: (started: { kube: FakeKube; c: Clients }) => void, options?: FakeKubeOptions): void {
  let kube: FakeKube | undefined;
  beforeAll(async () => {
    kube = await startFakeKube(options);
    use({ kube, c: clients(kube) });
  });
  afterAll(async () => kube?.stop());
}

export interface StatusBody {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { field?: string; message: string; reason?: string; type?: string }[] };
}

/** Awaits a client-node call expected to fail; returns the HTTP code and the parsed Status body. */
export async function failure(promise: Promise<unknown>): Promise<{ code: number; body: StatusBody }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const raw = error.body as unknown;
      const body = (typeof raw === 'string' ? JSON.parse(raw) : raw) as StatusBody;
      return { code: error.code, body };
    }
    throw error;
  }
  throw new Error('expected the request to fail');
}

export type Manifest = k8s.KubernetesObject & { metadata: k8s.V1ObjectMeta; spec: Record<string, unknown> };

export function deployment(name: string, image: string, extra: Record<string, unknown> = {}): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] } },
      ...extra,
    },
  };
}
