/**
 * core/v1 Events as controllers and the kubelet record them (tools read them to explain failures).
 * Repeats of the same reason+message for an object bump `count`/`lastTimestamp` like the event
 * recorder's aggregation does.
 */
import { randomBytes } from 'node:crypto';
import type { Registry } from '../registry.js';
import { rfc3339 } from '../registry.js';
import type { KubeObject } from '../types.js';

export class EventRecorder {
  private readonly seen = new Map<string, string>();

  constructor(private readonly registry: Registry) {}

  record(involved: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, fieldPath?: string): void {
    const res = this.registry.res('v1', 'Event');
    const namespace = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid}|${reason}|${message}|${fieldPath ?? ''}`;
    const now = rfc3339();
    const existingName = this.seen.get(key);
    const existing = existingName ? this.registry.find(res, namespace, existingName) : undefined;
    try {
      if (existing) {
        existing.count = (existing.count ?? 1) + 1;
        existing.lastTimestamp = now;
        this.registry.update(res, namespace, existing.metadata.name!, existing, { manager: component });
        return;
      }
      const name = `${involved.metadata.name}.${randomBytes(8).toString('hex')}`;
      this.registry.create(
        res,
        namespace,
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            kind: involved.kind,
            namespace: involved.metadata.namespace,
            name: involved.metadata.name,
            uid: involved.metadata.uid,
            apiVersion: involved.apiVersion,
            resourceVersion: involved.metadata.resourceVersion,
            ...(fieldPath ? { fieldPath } : {}),
          },
          reason,
          message,
          source: { component, ...(component === 'kubelet' ? { host: 'fake-node' } : {}) },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type,
          eventTime: null,
          reportingComponent: component,
          reportingInstance: component === 'kubelet' ? 'fake-node' : '',
        },
        { manager: component },
      );
      this.seen.set(key, name);
    } catch {
      // The namespace may be going away; events are best effort, as in a real cluster.
    }
  }
}
