import type { DevloopEvent } from '../events/types.js';
import { flushed, type Output } from './output.js';

/** `--output json`: one event per line on stdout and nothing else there; stacks go to stderr. */
export class JsonRenderer {
  constructor(
    private readonly out: Output,
    private readonly err: Output,
  ) {}

  render(event: DevloopEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }

  printStack(error: Error): void {
    this.err.write(`${error.stack ?? error.message}\n`);
  }

  async close(): Promise<void> {
    await flushed(this.out);
  }
}
