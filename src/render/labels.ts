/** The labels devloop puts on everything it deploys; prune, delete and log streaming select by them. */
import { podTemplatesOf } from './images.js';
import type { KubeObject } from './types.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'devloop';
export const CONFIG_LABEL = 'devloop.dev/config';
export const RUN_ID_LABEL = 'devloop.dev/run-id';

export function devloopLabels(configName: string, runId?: string): Record<string, string> {
  const labels: Record<string, string> = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CONFIG_LABEL]: configName };
  if (runId) labels[RUN_ID_LABEL] = runId;
  return labels;
}

/** "app.kubernetes.io/managed-by=devloop,devloop.dev/config=hello[,devloop.dev/run-id=…]" */
export function labelSelector(configName: string, runId?: string): string {
  return Object.entries(devloopLabels(configName, runId))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** Adds `labels` to the object and to its pod templates (so pods carry them). Mutates `object`. */
export function addLabels(object: KubeObject, labels: Record<string, string>): void {
  object.metadata.labels = { ...(object.metadata.labels ?? {}), ...labels };
  for (const template of podTemplatesOf(object)) {
    const metadata = (template.metadata ??= {}) as { labels?: Record<string, string> };
    metadata.labels = { ...(metadata.labels ?? {}), ...labels };
  }
}
