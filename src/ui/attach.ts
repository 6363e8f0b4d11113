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
  const renderer: Renderer =
    options.format === 'json'
      ? new JsonRenderer(process.stdout, process.stderr)
      : new TerminalRenderer(process.stderr, process.stdout, {
          color: shouldUseColor({ flag: options.color, isTTY: process.stderr.isTTY, env: process.env }),
          verbose: options.verbose,
        });
  bus.on((event) => renderer.render(event));
  return renderer;
}
