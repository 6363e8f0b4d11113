/** The commands (everything but the commander wiring), loaded once a command runs, not for --help. */
import { loadBundle } from '../util/bundled.js';

export type Commands = typeof import('./commands/index.js');

export function loadCommands(): Promise<Commands> {
  return loadBundle<Commands>(new URL('./commands.cjs', import.meta.url), () => import('./commands/index.js'));
}
