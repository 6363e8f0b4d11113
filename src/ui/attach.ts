import type { EventBus } from '../events/bus.js';
import { JsonRenderer } from './json.js';
import { TerminalRenderer } from './terminal.js';

export interface Renderer {
  close(): Promise<void>;
  printStack(error: Error): void;
}

export function attachRenderer(bus: EventBus, options: { format: 'text' | 'json'; color: boolean; verbose: boolean }): Renderer {
  const renderer =
    options.format === 'json'
      ? new JsonRenderer(process.stdout, process.stderr)
      : new TerminalRenderer(process.stderr, process.stdout, {
          color: options.color && Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
          verbose: options.verbose,
        });
  bus.on((event) => renderer.render(event));
  return renderer;
}
