import type { Writable } from 'node:stream';
import type { DevloopEvent, StageName } from '../events/types.js';

const CODES = { reset: 0, bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
type Style = keyof typeof CODES;
const LOG_COLOURS: Style[] = ['cyan', 'magenta', 'blue', 'yellow', 'green'];

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${(ms / 1000).toFixed(1)}s`;
}

export function formatStageBreakdown(stages: { stage: StageName; durationMs: number }[]): string {
  return stages.map((s) => `${s.stage} ${formatSeconds(s.durationMs)}`).join(' · ');
}

/**
 * The human view: one line per finished stage with its duration, progress lines, pod logs with
 * coloured `[pod container]` prefixes, and a summary line. Writes events to stderr so that a
 * command's own output (rendered YAML) owns stdout.
 */
export class TerminalRenderer {
  private readonly started = performance.now();
  /** Stage durations since the last iteration summary, for the final summary line. */
  private stages: { stage: StageName; durationMs: number }[] = [];
  private sawError = false;
  private sawIteration = false;
  private readonly logColours = new Map<string, Style>();

  constructor(
    private readonly out: Writable,
    private readonly stdout: Writable,
    private readonly options: { color: boolean; verbose: boolean },
  ) {}

  private paint(style: Style, text: string): string {
    return this.options.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
  }

  private line(text: string): void {
    this.out.write(text + '\n');
  }

  render(event: DevloopEvent): void {
    switch (event.type) {
      case 'stage': {
        const who = event.artifact ? ` ${event.artifact}` : '';
        if (event.status === 'end') {
          this.stages.push({ stage: event.stage, durationMs: event.durationMs ?? 0 });
          const detail = event.detail ? this.paint('dim', ` (${event.detail})`) : '';
          this.line(`  ${this.paint('green', '✔')} ${event.stage}${who} ${this.paint('dim', formatSeconds(event.durationMs ?? 0))}${detail}`);
        } else if (event.status === 'skipped') {
          this.line(`  ${this.paint('dim', `· ${event.stage}${who} skipped${event.detail ? ` (${event.detail})` : ''}`)}`);
        } else if (event.status === 'error') {
          this.line(`  ${this.paint('red', '✖')} ${event.stage}${who} failed after ${formatSeconds(event.durationMs ?? 0)}`);
        } else if (this.options.verbose) {
          this.line(this.paint('dim', `  ▸ ${event.stage}${who}…`));
        }
        return;
      }
      case 'progress': {
        if (event.total !== undefined && event.current !== undefined && !this.options.verbose) {
          // Byte counters are for TTY progress; print only the final one on plain output.
          if (event.current < event.total) return;
        }
        const who = event.resource ?? event.artifact;
        this.line(this.paint('dim', `  … ${who ? `${who}: ` : ''}${event.message}`));
        return;
      }
      case 'artifact':
        this.line(`  ${this.paint('blue', '▪')} ${event.image} → ${event.tag}${event.cached ? this.paint('dim', ' (cached)') : ''}`);
        return;
      case 'forward': {
        const target = `${event.resource}:${event.port}`;
        const url = `http://${event.address}:${event.localPort}`;
        if (event.status === 'ready') this.line(`  ${this.paint('green', '⇄')} ${target} → ${this.paint('bold', url)}${event.pod ? this.paint('dim', ` (${event.pod})`) : ''}`);
        else if (event.status === 'reconnecting') this.line(this.paint('yellow', `  ⇄ ${target} → ${url} reconnecting${event.message ? `: ${event.message}` : ''}`));
        else if (event.status === 'error') this.line(this.paint('red', `  ⇄ ${target} → ${url} error: ${event.message ?? ''}`));
        else this.line(this.paint('dim', `  ⇄ ${target} → ${url} stopped`));
        return;
      }
      case 'iteration': {
        if (event.status === 'start') {
          this.stages = [];
          this.line(this.paint('bold', `▶ iteration ${event.n}${event.reason ? `: ${event.reason}` : ''}`));
          return;
        }
        this.sawIteration = true;
        const breakdown = formatStageBreakdown(event.stages ?? this.stages);
        const mark = event.status === 'ok' ? this.paint('green', '✔') : this.paint('red', '✖');
        const verdict = event.status === 'ok' ? '' : ' failed';
        this.line(`${mark} iteration ${event.n}${verdict} in ${formatSeconds(event.durationMs ?? 0)}${breakdown ? ` — ${breakdown}` : ''}`);
        this.stages = [];
        return;
      }
      case 'log': {
        if (event.pod) {
          const key = `${event.pod} ${event.container ?? ''}`.trim();
          let colour = this.logColours.get(key);
          if (!colour) {
            colour = LOG_COLOURS[this.logColours.size % LOG_COLOURS.length]!;
            this.logColours.set(key, colour);
          }
          this.stdout.write(`${this.paint(colour, `[${key}]`)} ${event.line}\n`);
        } else {
          const prefix = [event.artifact, event.stage].filter(Boolean).join(' ');
          this.line(this.paint('dim', `  [${prefix}] `) + event.line);
        }
        return;
      }
      case 'notice':
        this.line(
          event.level === 'warn'
            ? this.paint('yellow', `⚠ ${event.message}${event.hint ? ` — hint: ${event.hint}` : ''}`)
            : `ℹ ${event.message}${event.hint ? this.paint('dim', ` — hint: ${event.hint}`) : ''}`,
        );
        return;
      case 'error':
        this.sawError = true;
        this.line(`${this.paint('red', 'error:')} ${event.message}`);
        if (event.hint) this.line(`  ${this.paint('dim', `hint: ${event.hint}`)}`);
        return;
    }
  }

  printStack(error: Error): void {
    this.line(this.paint('dim', error.stack ?? String(error)));
  }

  /** Prints the summary line for commands that did not end with an iteration summary. */
  close(): Promise<void> {
    if (!this.sawIteration && this.stages.length > 0) {
      const total = formatSeconds(performance.now() - this.started);
      const breakdown = formatStageBreakdown(this.stages);
      this.line(this.sawError ? `${this.paint('red', '✖')} failed after ${total} — ${breakdown}` : `${this.paint('green', '✔')} done in ${total} — ${breakdown}`);
    }
    return new Promise((resolve) => this.out.write('', () => resolve()));
  }
}
