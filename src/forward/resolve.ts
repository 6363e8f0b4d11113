/**
 * Turns a portForward entry's resource into "which pods, and which of their ports": a Service goes
 * through its selector and targetPort, a Deployment through its selector and container ports, a pod
 * is itself. Reads the object once; the pods are then followed by a watch (see target.ts).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { DevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { containerPort, findServicePort, labelSelectorString, parseResource, serviceTargetPort, type ResourceRef } from './select.js';

export interface ResolvedResource {
  ref: ResourceRef;
  namespace: string;
  /** Pods that may serve: a label selector, or a field selector for pod/x. */
  labelSelector?: string;
  fieldSelector?: string;
  /** The remote port on one pod, undefined when that pod lacks it (a named port it does not declare). */
  portOn(pod: V1Pod): number | undefined;
  /** A port number to derive the default localPort from (the Service port, or the container port). */
  nominalPort: number;
}

export async function resolveResource(
  kube: KubeClient,
  resource: string,
  port: number | string,
  namespace: string,
): Promise<ResolvedResource> {
  const ref = parseResource(resource);
  if (!ref) {
    throw new DevloopError('FORWARD_RESOURCE_INVALID', `portForward resource "${resource}" is not service/NAME, deployment/NAME or pod/NAME`, {
      hint: 'e.g. resource: service/hello',
      exitCode: 2,
    });
  }
  if (ref.kind === 'service') return resolveService(kube, ref, port, namespace);
  if (ref.kind === 'deployment') return resolveDeployment(kube, ref, port, namespace);
  return resolvePod(kube, ref, port, namespace);
}

async function resolvePod(kube: KubeClient, ref: ResourceRef, port: number | string, namespace: string): Promise<ResolvedResource> {
  const pod = await readOrExplain(() => kube.core.readNamespacedPod({ name: ref.name, namespace }), ref, namespace);
  const nominal = containerPort(pod, port);
  if (nominal === undefined) {
    throw new DevloopError('FORWARD_PORT_UNKNOWN', `pod/${ref.name} has no container port named "${port}"`, {
      hint: 'use a port number, or a name from the containers\' ports',
    });
  }
  return { ref, namespace, fieldSelector: `metadata.name=${ref.name}`, portOn: (p) => containerPort(p, port), nominalPort: nominal };
}

async function resolveService(kube: KubeClient, ref: ResourceRef, port: number | string, namespace: string): Promise<ResolvedResource> {
  const service = await readOrExplain(() => kube.core.readNamespacedService({ name: ref.name, namespace }), ref, namespace);
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) {
    throw new DevloopError('FORWARD_NO_SELECTOR', `service/${ref.name} in namespace ${namespace} has no selector, so no pod to forward to`, {
      hint: 'forward to a deployment/NAME or pod/NAME instead, or give the Service a selector',
    });
  }
  const servicePort = findServicePort(service, port);
  if (!servicePort) {
    const known = (service.spec?.ports ?? []).map((p) => (p.name ? `${p.port} (${p.name})` : String(p.port))).join(', ');
    throw new DevloopError('FORWARD_PORT_UNKNOWN', `service/${ref.name} has no port ${port}`, {
      hint: known ? `its ports: ${known}` : 'the Service declares no ports',
    });
  }
  return {
    ref,
    namespace,
    labelSelector: labelSelectorString(selector),
    portOn: (pod) => serviceTargetPort(servicePort, pod),
    nominalPort: servicePort.port,
  };
}

async function resolveDeployment(kube: KubeClient, ref: ResourceRef, port: number | string, namespace: string): Promise<ResolvedResource> {
  const apps = kube.kc.makeApiClient(kube.lib.AppsV1Api);
  const deployment = await readOrExplain(() => apps.readNamespacedDeployment({ name: ref.name, namespace }), ref, namespace);
  const labelSelector = labelSelectorString(deployment.spec?.selector);
  if (!labelSelector) {
    throw new DevloopError('FORWARD_NO_SELECTOR', `deployment/${ref.name} in namespace ${namespace} has an empty selector`, {
      hint: 'set spec.selector.matchLabels',
    });
  }
  const templatePod = { spec: deployment.spec?.template?.spec } as V1Pod;
  const nominal = containerPort(templatePod, port);
  if (nominal === undefined) {
    throw new DevloopError('FORWARD_PORT_UNKNOWN', `deployment/${ref.name} has no container port named "${port}"`, {
      hint: 'use a port number, or a name from the containers\' ports',
    });
  }
  return { ref, namespace, labelSelector, portOn: (pod) => containerPort(pod, port), nominalPort: nominal };
}

async function readOrExplain<T>(read: () => Promise<T>, ref: ResourceRef, namespace: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (code === 404) {
      throw new DevloopError('FORWARD_NOT_FOUND', `${ref.kind}/${ref.name} not found in namespace ${namespace}`, {
        hint: 'check the portForward resource and namespace, and that it was deployed',
        cause: error,
      });
    }
    throw new DevloopError('FORWARD_LOOKUP_FAILED', `cannot read ${ref.kind}/${ref.name} in namespace ${namespace}: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'check that the cluster is reachable and that you may read it',
      cause: error,
    });
  }
}
