import { rm } from 'node:fs/promises';
import type { CommandContext } from '../context.js';
import { timedStage } from '../../events/bus.js';
import { checkedKubeClient } from './shared-deploy.js';

/**
 * `devloop delete`: removes everything this config deployed (found by its labels, in the kinds and
 * namespaces state.json recorded plus the common ones) and waits until it is gone. Twice is a no-op.
 */
export async function deleteDeployed(ctx: CommandContext): Promise<number> {
  const loaded = await ctx.loadConfig('delete');
  const kube = await checkedKubeClient(ctx, loaded, 'delete');
  const { readDeployState, stateFile } = await import('../../runner/state.js');
  const { deployApiFor } = await import('../../runner/pipeline.js');
  const { deleteDeployed: deleteAll } = await import('../../deploy/delete.js');
  const state = await readDeployState(loaded.dir);
  const sameTarget = state && state.configName === loaded.config.metadata.name && state.kubeContext === kube.contextName;
  const deleted = await timedStage(ctx.emit, 'delete', undefined, () =>
    deleteAll({
      api: deployApiFor(kube),
      configName: loaded.config.metadata.name,
      kinds: sameTarget ? state.kinds : [],
      namespaces: sameTarget ? state.namespaces : [],
      emit: ctx.emit,
      signal: ctx.signal,
    }),
  );
  if (sameTarget) await rm(stateFile(loaded.dir), { force: true });
  ctx.emit({
    type: 'notice',
    level: 'info',
    message: deleted.length === 0 ? `nothing to delete for config "${loaded.config.metadata.name}" in context "${kube.contextName}"` : `deleted ${deleted.length} object(s)`,
  });
  return 0;
}
