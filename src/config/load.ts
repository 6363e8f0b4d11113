import type { LoadedConfig } from './types.js';
import { DevloopError } from '../errors.js';

export interface LoadOptions {
  /** Path as given by -f (relative to cwd). */
  file: string;
  cwd: string;
  /** Profiles named with -p. */
  profiles: string[];
  /** The devloop command being run (for `activation.command`). */
  command: string;
  overrides: { kubeContext?: string; namespace?: string; defaultRepo?: string };
  env: NodeJS.ProcessEnv;
}

// Placeholder: replaced by the config loader (issue 2).
export async function loadConfigForCommand(_options: LoadOptions): Promise<LoadedConfig> {
  throw new DevloopError('NOT_IMPLEMENTED', 'config loading is not implemented yet');
}
