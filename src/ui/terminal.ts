/**
 * The human view: one line per finished stage with its duration, a summary line per iteration (or
 * per command), pod logs on stdout and everything else on stderr. Colour is decided by the caller.
 */
import type { DevloopEvent, DiagnoseEvent, StageName } from '../events/types.js';
import { flushed, formatMs, type Output } from './output.js';
import { renderDiagnose } from './diagnose.js';

export interface TerminalOptions {
  color: boolean;
  verbose: boolean;
}

const STAGE_ORDER: StageName[] = ['compile', 'build', 'push', 'sync', 'restart', 'render', 'apply', 'prune', 'status', 'hook', 'delete'];

export interface Palette {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function palette(color: boolean): Palette {
  const wrap = (open: number, close: number) => (text: string) => (color ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** Wall-clock span of each stage across artifacts (concurrent builds do not add up). */
class StageSpans {
  private spans = new Map<StageName, { start: number; end: number }>();
  failed = false;

  add(stage: StageName, endTime: number, durationMs: number): void {
    const start = endTime - durationMs;
    const span = this.spans.get(stage);
    if (!span) this.spans.set(stage, { start, end: endTime });
    else this.spans.set(stage, { start: Math.min(span.start, start), end: Math.max(span.end, endTime) });
  }

  get empty(): boolean {
    return this.spans.size === 0;
  }

  list(): { stage: StageName; durationMs: number }[] {
    return STAGE_ORDER.filter((stage) => this.spans.has(stage)).map((stage) => {
      const span = this.spans.get(stage)!;
      return { stage, durationMs: span.end - span.start };
    });
  }

  total(): number {
    const spans = [...this.spans.values()];
    return Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
  }

  reset(): void {
    this.spans.clear();
    this.failed = false;
  }
}

export class TerminalRenderer {
  private readonly c: Palette;
  private readonly spans = new StageSpans();
  private errors = 0;

  /** `err` gets progress and errors; `out` gets pod logs and reports (diagnose). */
  constructor(
    private readonly err: Output,
    private readonly out: Output,
    private readonly options: TerminalOptions,
  ) {
    this.c = palette(options.color);
  }

  render(event: DevloopEvent): void {
    const c = this.c;
    const time = Date.parse(event.time);
    switch (event.type) {
      case 'stage': {
        const what = [event.stage, event.hook, event.artifact].filter(Boolean).join(' ');
        if (event.status === 'start') this.line(c.dim(`▸ ${what}`));
        else if (event.status === 'end') {
          this.spans.add(event.stage, time, event.durationMs ?? 0);
          this.line(`${c.green('✓')} ${what} ${c.dim(formatMs(event.durationMs ?? 0))}${event.detail ? c.dim(` (${event.detail})`) : ''}`);
        } else if (event.status === 'error') {
          this.spans.add(event.stage, time, event.durationMs ?? 0);
          this.spans.failed = true;
          this.line(`${c.red('✗')} ${what} ${c.red(`failed after ${formatMs(event.durationMs ?? 0)}`)}`);
        } else this.line(c.dim(`· ${what} skipped${event.detail ? ` (${event.detail})` : ''}`));
        return;
      }
      case 'progress': {
        if (event.total !== undefined && event.current !== event.total && !this.options.verbose) return;
        const who = event.resource ?? event.artifact ?? event.stage;
        const counter = event.total !== undefined ? ` ${event.current ?? 0}/${event.total}` : '';
        this.line(c.dim(`  ${who}: ${event.message}${counter}`));
        return;
      }
      case 'artifact':
        this.line(`  ${c.bold(event.image)} → ${event.tag}${event.cached ? c.dim(' (cached)') : ''}`);
        return;
      case 'forward': {
        const target = `${event.resource}:${event.port}`;
        if (event.status === 'ready') this.line(`${c.cyan('⇄')} ${target} → ${c.bold(`http://${hostPort(event.address, event.localPort)}`)}${event.pod ? c.dim(` (${event.pod})`) : ''}`);
        else if (event.status === 'reconnecting') this.line(c.yellow(`⇄ ${target} reconnecting${event.message ? `: ${event.message}` : ''}`));
        else if (event.status === 'error') this.line(c.red(`⇄ ${target} failed${event.message ? `: ${event.message}` : ''}`));
        else this.line(c.dim(`⇄ ${target} stopped`));
        return;
      }
      case 'iteration': {
        if (event.status === 'start') {
          this.spans.reset();
          const changed = event.changed?.length ? ` ${c.dim(`(${summariseFiles(event.changed)})`)}` : '';
          this.line(c.bold(`── iteration ${event.n}`) + changed + (event.reason ? c.dim(` ${event.reason}`) : ''));
          return;
        }
        const stages = event.stages ?? this.spans.list();
        const ok = event.status === 'ok';
        const head = ok
          ? `${c.green('✓')} iteration ${event.n} ok in ${formatMs(event.durationMs ?? 0)}`
          : `${c.red('✗')} iteration ${event.n} failed after ${formatMs(event.durationMs ?? 0)}`;
        this.line(`${head}${stageSummary(stages, c)}${!ok && event.reason ? c.dim(` — ${event.reason}`) : ''}`);
        this.spans.reset();
        return;
      }
      case 'log':
        if (event.pod) {
          const prefix = `[${event.pod}${event.container ? `/${event.container}` : ''}]`;
          this.out.write(`${c.cyan(prefix)} ${event.line}\n`);
        } else {
          const prefix = `[${[event.artifact, event.stage, event.hook].filter(Boolean).join(' ')}]`;
          this.line(c.dim(`  ${prefix} ${event.line}`));
        }
        return;
      case 'notice':
        this.line(event.level === 'warn' ? c.yellow(`! ${event.message}`) : `${c.cyan('i')} ${event.message}`);
        if (event.hint) this.line(c.dim(`  hint: ${event.hint}`));
        return;
      case 'error': {
        this.errors += 1;
        const where = [event.artifact, event.stage].filter(Boolean).join(' ');
        this.line(`${c.red('error:')} ${where ? `${where}: ` : ''}${event.message}`);
        if (event.hint) this.line(c.dim(`  hint: ${event.hint}`));
        return;
      }
      case 'diagnose':
        this.out.write(renderDiagnose(event as DiagnoseEvent, c));
        return;
    }
  }

  printStack(error: Error): void {
    this.line(this.c.dim(error.stack ?? error.message));
  }

  /** Prints the summary line for stages no iteration summarised (build, deploy, run), then flushes. */
  async close(): Promise<void> {
    if (!this.spans.empty) {
      const failed = this.spans.failed || this.errors > 0;
      const total = formatMs(this.spans.total());
      const head = failed ? `${this.c.red('✗')} failed after ${total}` : `${this.c.green('✓')} done in ${total}`;
      this.line(`${head}${stageSummary(this.spans.list(), this.c)}`);
      this.spans.reset();
    }
    await Promise.all([flushed(this.err), flushed(this.out)]);
  }

  private line(text: string): void {
    this.err.write(`${text}\n`);
  }
}

function stageSummary(stages: { stage: StageName; durationMs: number }[], c: Palette): string {
  if (stages.length === 0) return '';
  return c.dim(` — ${stages.map((s) => `${s.stage} ${formatMs(s.durationMs)}`).join(' · ')}`);
}

function summariseFiles(files: string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} +${files.length - 3} more` : shown;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
