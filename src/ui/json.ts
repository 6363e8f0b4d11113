import type { Writable } from 'node:stream';
import type { DevloopEvent } from '../events/types.js';

/** `--output json`: one event per line on stdout and nothing else there; stacks go to stderr. */
export class JsonRenderer {
  constructor(
    private readonly out: Writable,
    private readonly err: Writable,
  ) {}

  render(event: DevloopEvent): void {
    this.out.write(JSON.stringify(event) + '\n');
  }

  printStack(error: Error): void {
    this.err.write(`${error.stack}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.write('', () => resolve()));
  }
}
