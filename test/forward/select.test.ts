import { describe, expect, it } from 'vitest';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import {
  chooseServingPod,
  containerPort,
  findServicePort,
  isPodServing,
  labelSelectorString,
  parseResource,
  preferredLocalPort,
  serviceTargetPort,
} from '../../src/forward/select.js';

function pod(name: string, options: { created?: string; ready?: boolean; phase?: string; deleting?: boolean; ports?: { name?: string; containerPort: number }[] } = {}): V1Pod {
  return {
    metadata: {
      name,
      creationTimestamp: (options.created ?? '2024-01-01T00:00:00Z') as unknown as Date,
      ...(options.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { containers: [{ name: 'app', image: 'x', ports: options.ports ?? [{ name: 'http', containerPort: 8080 }] }] },
    status: { phase: options.phase ?? 'Running', conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

describe('pod selection', () => {
  it('serves only Running, Ready, non-terminating pods', () => {
    expect(isPodServing(pod('a'))).toBe(true);
    expect(isPodServing(pod('a', { ready: false }))).toBe(false);
    expect(isPodServing(pod('a', { phase: 'Pending' }))).toBe(false);
    expect(isPodServing(pod('a', { deleting: true }))).toBe(false);
  });

  it('picks the newest Ready pod, breaking timestamp ties by watch order', () => {
    const candidates = [
      { pod: pod('old', { created: '2024-01-01T00:00:00Z' }), seq: 1 },
      { pod: pod('new', { created: '2024-01-01T00:00:05Z' }), seq: 2 },
      { pod: pod('newest-not-ready', { created: '2024-01-01T00:00:09Z', ready: false }), seq: 3 },
    ];
    expect(chooseServingPod(candidates, () => 8080)?.candidate.pod.metadata?.name).toBe('new');
    const tie = [
      { pod: pod('first', { created: '2024-01-01T00:00:05Z' }), seq: 4 },
      { pod: pod('second', { created: '2024-01-01T00:00:05Z' }), seq: 7 },
    ];
    expect(chooseServingPod(tie, () => 8080)?.candidate.pod.metadata?.name).toBe('second');
  });

  it('skips pods on which the port does not resolve', () => {
    const candidates = [
      { pod: pod('named', { created: '2024-01-01T00:00:00Z' }), seq: 1 },
      { pod: pod('unnamed', { created: '2024-01-01T00:00:09Z', ports: [{ containerPort: 9090 }] }), seq: 2 },
    ];
    const chosen = chooseServingPod(candidates, (p) => containerPort(p, 'http'));
    expect(chosen?.candidate.pod.metadata?.name).toBe('named');
    expect(chosen?.port).toBe(8080);
    expect(chooseServingPod([], () => 1)).toBeUndefined();
  });
});

describe('ports', () => {
  const service: V1Service = {
    metadata: { name: 'hello' },
    spec: {
      selector: { app: 'hello' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' as unknown as object },
        { name: 'metrics', port: 9090, targetPort: 9091 as unknown as object },
        { port: 7000 },
      ],
    },
  } as V1Service;

  it('finds a Service port by number or by name', () => {
    expect(findServicePort(service, 80)?.name).toBe('http');
    expect(findServicePort(service, 'metrics')?.port).toBe(9090);
    expect(findServicePort(service, '7000')?.port).toBe(7000);
    expect(findServicePort(service, 81)).toBeUndefined();
  });

  it("resolves targetPort: named through the pod's containers, numbers as is, absent = port", () => {
    const p = pod('a');
    expect(serviceTargetPort(findServicePort(service, 80)!, p)).toBe(8080);
    expect(serviceTargetPort(findServicePort(service, 9090)!, p)).toBe(9091);
    expect(serviceTargetPort(findServicePort(service, 7000)!, p)).toBe(7000);
    expect(serviceTargetPort(findServicePort(service, 80)!, pod('b', { ports: [{ containerPort: 1 }] }))).toBeUndefined();
  });

  it('proposes unprivileged local ports', () => {
    expect(preferredLocalPort(8080)).toBe(8080);
    expect(preferredLocalPort(80)).toBe(8080);
    expect(preferredLocalPort(443)).toBe(8443);
    expect(preferredLocalPort(1024)).toBe(1024);
  });
});

describe('selectors and resources', () => {
  it('renders label selectors', () => {
    expect(labelSelectorString({ app: 'hello', tier: 'web' })).toBe('app=hello,tier=web');
    expect(
      labelSelectorString({
        matchLabels: { app: 'x' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['a', 'b'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=x,env in (a,b),!canary');
    expect(labelSelectorString(undefined)).toBe('');
  });

  it('parses resource references', () => {
    expect(parseResource('service/hello')).toEqual({ kind: 'service', name: 'hello' });
    expect(parseResource('svc/hello')).toEqual({ kind: 'service', name: 'hello' });
    expect(parseResource('deployment/api-1')).toEqual({ kind: 'deployment', name: 'api-1' });
    expect(parseResource('pod/p')).toEqual({ kind: 'pod', name: 'p' });
    expect(parseResource('configmap/x')).toBeUndefined();
    expect(parseResource('hello')).toBeUndefined();
  });
});
