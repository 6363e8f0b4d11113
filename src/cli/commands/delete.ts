import type { CommandContext } from '../context.js';
import { timedStage } from '../../events/bus.js';
import { checkedKubeClient } from './shared-deploy.js';

/**
 * `devloop delete`: removes what this config deployed to the target namespace (`-n`, deploy.namespace,
 * the context's) — found by its labels in the kinds and namespaces recorded for that target plus the
 * common ones — and waits until it is gone. Deployments to other namespaces stay, with their records.
 * Twice is a no-op.
 */
export async function deleteDeployed(ctx: CommandContext): Promise<number> {
  const loaded = await ctx.loadConfig('delete');
  const kube = await checkedKubeClient(ctx, loaded, 'delete');
  const { deleteScope, forgetRecords, readRecords, sameTarget } = await import('../../deploy/record.js');
  const { deployApiFor } = await import('../../runner/pipeline.js');
  const { deleteDeployed: deleteAll } = await import('../../deploy/delete.js');
  const target = { configName: loaded.config.metadata.name, kubeContext: kube.contextName, namespace: kube.namespace };
  const records = await readRecords(loaded.dir);
  const scope = deleteScope(records, target);
  const deleted = await timedStage(ctx.emit, 'delete', undefined, () =>
    deleteAll({ api: deployApiFor(kube), configName: target.configName, kinds: scope.kinds, namespaces: scope.namespaces, keep: scope.keep, emit: ctx.emit, signal: ctx.signal }),
  );
  await forgetRecords(loaded.dir, (r) => sameTarget(r, target));
  const elsewhere = records.filter((r) => r.configName === target.configName && r.kubeContext === target.kubeContext && r.namespace !== target.namespace);
  ctx.emit({
    type: 'notice',
    level: 'info',
    message:
      deleted.length === 0
        ? `nothing to delete for config "${target.configName}" in context "${kube.contextName}", namespace "${target.namespace}"`
        : `deleted ${deleted.length} object(s)`,
    ...(elsewhere.length > 0
      ? { hint: `still deployed to namespace ${elsewhere.map((r) => `"${r.namespace}"`).join(', ')}; \`devloop delete -n ${elsewhere[0]!.namespace}\` removes that` }
      : {}),
  });
  return 0;
}
