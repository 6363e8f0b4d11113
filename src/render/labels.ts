/** The labels devloop puts on everything it deploys; prune, delete and log streaming select by them. */
import { podTemplatesOf } from './images.js';
import type { KubeObject } from './types.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const MANAGED_BY_VALUE = 'devloop';
export const CONFIG_LABEL = 'devloop.dev/config';
export const RUN_ID_LABEL = 'devloop.dev/run-id';
/** Set on every object at apply time (not in `devloop render`): which apply wrote it, and from where. */
export const APPLY_ID_ANNOTATION = 'devloop.dev/apply-id';
export const APPLIED_FROM_ANNOTATION = 'devloop.dev/applied-from';

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

/**
 * For merge patches (servers without server-side apply), which keep labels a patch does not name:
 * sets devloop's optional labels the object lacks to null, so a dead dev session's run id does not
 * stay on objects a later `run` takes over. Mutates `patch` (a copy of the object).
 */
export function nullAbsentRunId(patch: KubeObject): void {
  const clear = (metadata: { labels?: Record<string, string | null> }): void => {
    if (metadata.labels?.[RUN_ID_LABEL] === undefined) metadata.labels = { ...(metadata.labels ?? {}), [RUN_ID_LABEL]: null };
  };
  clear(patch.metadata as { labels?: Record<string, string | null> });
  for (const template of podTemplatesOf(patch)) clear((template.metadata ??= {}) as { labels?: Record<string, string | null> });
}
