import type { CommandContext } from '../context.js';
import { DevloopError } from '../../errors.js';

// Placeholder until its issue lands; owned by the helper implementing `devloop run`.
export async function run(_ctx: CommandContext, _opts: Record<string, unknown> = {}): Promise<number | void> {
  throw new DevloopError('NOT_IMPLEMENTED', '`devloop run` is not implemented yet');
}
