import { describe, expect, it } from 'vitest';
import { daemonSetVerdict, deploymentVerdict, jobVerdict, podVerdict, statefulSetVerdict } from '../../src/deploy/rollout.js';
import { describeProblem, podProblem, type PodLike } from '../../src/deploy/diagnose.js';
import { registryOf } from '../../src/registry/reference.js';

const meta = (generation = 2) => ({ name: 'hello', generation });

describe('rollout rules (kubectl rollout status)', () => {
  it('deployment: waits for the new generation, updated, old gone and available replicas', () => {
    expect(deploymentVerdict({ metadata: meta(), spec: { replicas: 2 }, status: { observedGeneration: 1 } }).state).toBe('waiting');
    expect(deploymentVerdict({ metadata: meta(), spec: { replicas: 2 }, status: { observedGeneration: 2, updatedReplicas: 1, replicas: 2, readyReplicas: 1 } })).toEqual({ state: 'waiting', message: 'hello: 1/2 replicas updated, 1/2 ready' });
    expect(deploymentVerdict({ metadata: meta(), spec: { replicas: 2 }, status: { observedGeneration: 2, updatedReplicas: 2, replicas: 3, availableReplicas: 2 } }).message).toContain('1 old replicas pending termination');
    expect(deploymentVerdict({ metadata: meta(), spec: { replicas: 2 }, status: { observedGeneration: 2, updatedReplicas: 2, replicas: 2, readyReplicas: 1, availableReplicas: 1 } })).toEqual({ state: 'waiting', message: 'hello: 1/2 replicas ready' });
    expect(deploymentVerdict({ metadata: meta(), spec: { replicas: 2 }, status: { observedGeneration: 2, updatedReplicas: 2, replicas: 2, readyReplicas: 2, availableReplicas: 2 } }).state).toBe('done');
  });

  it('deployment: ProgressDeadlineExceeded fails', () => {
    const verdict = deploymentVerdict({ metadata: meta(), spec: {}, status: { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "hello-1" has timed out progressing.' }] } });
    expect(verdict).toMatchObject({ state: 'failed', reason: 'ProgressDeadlineExceeded' });
    expect(verdict.message).toContain('timed out progressing');
  });

  it('statefulset, daemonset, job and pod rules', () => {
    expect(statefulSetVerdict({ metadata: meta(1), spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, currentRevision: 'a', updateRevision: 'b', updatedReplicas: 1 } }).state).toBe('waiting');
    expect(statefulSetVerdict({ metadata: meta(1), spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, currentRevision: 'b', updateRevision: 'b' } }).state).toBe('done');
    expect(statefulSetVerdict({ metadata: meta(1), spec: { updateStrategy: { type: 'OnDelete' } } }).state).toBe('done');
    expect(daemonSetVerdict({ metadata: meta(1), status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 } }).message).toBe('hello: 2/3 pods ready');
    expect(daemonSetVerdict({ metadata: meta(1), status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 } }).state).toBe('done');
    expect(jobVerdict({ metadata: meta(1), status: { conditions: [{ type: 'Complete', status: 'True' }] } }).state).toBe('done');
    expect(jobVerdict({ metadata: meta(1), status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } })).toMatchObject({ state: 'failed' });
    expect(podVerdict({ metadata: meta(1), status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }).state).toBe('done');
    expect(podVerdict({ metadata: meta(1), status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } }).state).toBe('waiting');
  });
});

describe('pod diagnosis', () => {
  const pod = (status: PodLike['status'], image = '127.0.0.1:5000/hello:abc') => ({ metadata: { name: 'hello-1' }, spec: { containers: [{ name: 'hello', image }] }, status });

  it('names the image and registry of a pull failure', () => {
    const problem = podProblem(pod({ containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] }))!;
    expect(problem).toMatchObject({ kind: 'image-pull', image: '127.0.0.1:5000/hello:abc', registry: '127.0.0.1:5000' });
    expect(describeProblem('deployment/hello', problem)).toBe('deployment/hello: cannot pull image 127.0.0.1:5000/hello:abc from registry 127.0.0.1:5000 (ImagePullBackOff: Back-off pulling image)');
    expect(registryOf('busybox')).toBe('docker.io');
    expect(registryOf('library/busybox')).toBe('docker.io');
    expect(registryOf('ghcr.io/a/b')).toBe('ghcr.io');
  });

  it('reports the exit code of a crash loop, and unschedulable and not-ready pods', () => {
    const crash = podProblem(pod({ containerStatuses: [{ name: 'hello', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2, reason: 'Error' } } }] }))!;
    expect(describeProblem('deployment/hello', crash)).toBe('deployment/hello: container hello of pod hello-1 keeps crashing (CrashLoopBackOff, exit code 2, 3 restarts)');
    expect(podProblem(pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }] }))).toMatchObject({ kind: 'unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' });
    expect(podProblem(pod({ containerStatuses: [{ name: 'hello', ready: false, state: { running: {} } }] }))).toMatchObject({ kind: 'not-ready' });
    expect(podProblem(pod({ containerStatuses: [{ name: 'hello', ready: true, state: { running: {} } }] }))).toBeUndefined();
  });
});
