import { describe, expect, test } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import type { DevloopEventBody } from '../../src/events/types.js';
import { readinessReporter, workloadOf } from '../../src/logs/ready.js';

function pod(name: string, options: { rs?: string; hash?: string; owner?: { kind: string; name: string }; ready?: boolean; terminating?: boolean } = {}): V1Pod {
  const owner = options.owner ?? (options.rs ? { kind: 'ReplicaSet', name: options.rs } : undefined);
  return {
    metadata: {
      name,
      namespace: 'dev',
      labels: options.hash ? { 'pod-template-hash': options.hash } : {},
      ownerReferences: owner ? [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: 'u', controller: true }] : undefined,
      deletionTimestamp: options.terminating ? new Date() : undefined,
    },
    status: { conditions: [{ type: 'Ready', status: options.ready ? 'True' : 'False' }] },
  };
}

describe('pods ready per workload', () => {
  test('a Deployment pod is named by its Deployment; other owners by themselves; a bare pod by its name', () => {
    expect(workloadOf(pod('hello-5f6d-x', { rs: 'hello-5f6d', hash: '5f6d' }))).toBe('deployment/hello');
    expect(workloadOf(pod('db-0', { owner: { kind: 'StatefulSet', name: 'db' } }))).toBe('statefulset/db');
    expect(workloadOf(pod('lonely'))).toBe('pod/lonely');
  });

  test('emits counts only when they change; terminating pods do not count; a workload whose pods are gone reports 0/0 once', () => {
    const events: DevloopEventBody[] = [];
    const report = readinessReporter((e) => events.push(e));
    const a = pod('hello-1-a', { rs: 'hello-1', hash: '1' });
    report([a]);
    report([a]);
    report([pod('hello-1-a', { rs: 'hello-1', hash: '1', ready: true }), pod('hello-2-b', { rs: 'hello-2', hash: '2' })]);
    report([pod('hello-1-a', { rs: 'hello-1', hash: '1', ready: true, terminating: true }), pod('hello-2-b', { rs: 'hello-2', hash: '2', ready: true })]);
    report([]);
    report([]);
    expect(events.map((e) => e.type === 'pods' && `${e.workload} ${e.ready}/${e.total}`)).toEqual([
      'deployment/hello 0/1',
      'deployment/hello 1/2',
      'deployment/hello 1/1',
      'deployment/hello 0/0',
    ]);
  });
});
