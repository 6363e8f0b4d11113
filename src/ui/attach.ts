import type { EventBus } from '../events/bus.js';
import type { DevloopEvent } from '../events/types.js';
import { JsonRenderer } from './json.js';
import { shouldUseColor } from './output.js';
import { TerminalRenderer } from './terminal.js';

export interface Renderer {
  render(event: DevloopEvent): void;
  close(): Promise<void>;
  printStack(error: Error): void;
}

export function attachRenderer(bus: EventBus, options: { format: 'text' | 'json'; color: boolean; verbose: boolean }): Renderer {
  let renderer: Renderer;
  if (options.format === 'json') renderer = new JsonRenderer(process.stdout, process.stderr);
  else {
    const { stderr, stdout } = process;
    // In-place lines need a real terminal that understands cursor movement.
    const live = Boolean(stderr.isTTY) && process.env.TERM !== 'dumb';
    const terminal = new TerminalRenderer(stderr, stdout, {
      color: shouldUseColor({ flag: options.color, isTTY: stderr.isTTY, env: process.env }),
      verbose: options.verbose,
      live: live ? { columns: () => stderr.columns || 80, rows: () => stderr.rows || 24, outIsTerminal: Boolean(stdout.isTTY) } : undefined,
    });
    // A second Ctrl-C exits at once, skipping close(): the cursor must not stay hidden.
    if (live) process.once('exit', () => stderr.write(terminal.restore()));
    renderer = terminal;
  }
  bus.on((event) => renderer.render(event));
  return renderer;
}
