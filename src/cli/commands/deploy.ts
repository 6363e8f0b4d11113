import type { CommandContext } from '../context.js';
import { runOnce } from './run.js';

export interface DeployOptions {
  buildArtifacts?: string;
  statusCheckTimeout?: string;
}

/** `devloop deploy`: like `run`, but with --build-artifacts it skips building and deploys those tags. */
export async function deploy(ctx: CommandContext, opts: DeployOptions = {}): Promise<number> {
  return runOnce(ctx, { buildArtifacts: opts.buildArtifacts, statusCheckTimeout: opts.statusCheckTimeout }, 'deploy');
}
