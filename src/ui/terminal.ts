/**
 * The human view of the event stream. One line per finished stage (`✓ build hello 415ms`), one
 * header and one result line per iteration, pod logs on stdout and everything else on stderr.
 *
 * On a terminal (`live`), a running stage is one line updated in place (spinner, elapsed time, a byte
 * bar for pushes), and a short status block stays at the bottom (forwards, pods ready, the last
 * iteration, pending changes); finished lines and pod logs scroll above it. Without a terminal the same
 * lines are printed plainly, with no control codes.
 *
 * Tool output (compile, docker build/push, hooks) is kept per stage and shown only when that stage
 * fails (its last lines) or with --verbose (as it comes). Colour is decided by the caller.
 */
import type { DevloopEvent, DiagnoseEvent, ForwardEvent, IterationEvent, LogEvent, PodsEvent, ProgressEvent, StageEvent, StageName } from '../events/types.js';
import { flushed, formatMs, hostPort, STAGE_ORDER, type Output } from './output.js';
import { renderDiagnose } from './diagnose.js';
import { LiveArea, printable, withoutColour } from './live.js';

export interface LiveOptions {
  columns(): number;
  rows(): number;
  /** stdout is the same terminal: pod logs must move the live lines out of the way. */
  outIsTerminal: boolean;
}

export interface TerminalOptions {
  color: boolean;
  verbose: boolean;
  /** In-place lines and the status block; omitted: plain lines. */
  live?: LiveOptions;
  /** Clock for elapsed times (tests). */
  now?: () => number;
  /** Redraw (spinner, elapsed) or print "still running" lines on a timer; tests turn it off and call tick(). Default true. */
  timer?: boolean;
}

/** Stages whose progress is a running account (layers, bytes) that their end line sums up. */
const SUMMED: ReadonlySet<StageName> = new Set(['build', 'push']);
const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
/** Tool output lines kept per stage, and shown when it fails. */
const KEEP_LINES = 200;
const FAILURE_LINES = 15;
const FRAME_MS = 100;
/** Plain mode: a line for a stage still running after this long, and every such period after. */
const HEARTBEAT_MS = 30_000;

export interface Palette {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
  /** One of a few distinct colours, picked by `index` (pod prefixes). */
  pick(index: number, text: string): string;
}

const PICKS = [36, 35, 34, 33, 32, 96, 95, 94];

function palette(color: boolean): Palette {
  const wrap = (open: number, close: number) => (text: string) => (color ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return {
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
    pick: (index, text) => wrap(PICKS[index % PICKS.length]!, 39)(text),
  };
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

interface Running {
  stage: StageName;
  artifact?: string;
  hook?: string;
  started: number;
  /** The latest progress, shown in place and, for build/push, the end line's detail when it has none. */
  progress?: ProgressEvent;
  /** The latest line of tool output, shown in place when there is no progress. */
  lastLine?: string;
  /** Tool output so far (the last KEEP_LINES lines). */
  output: string[];
  dropped: number;
  /** Plain mode: when the next "still running" line is due. */
  nextBeat: number;
}

const keyOf = (stage: StageName, artifact?: string, hook?: string): string => `${stage}\u0000${artifact ?? ''}\u0000${hook ?? ''}`;

export class TerminalRenderer {
  private readonly c: Palette;
  private readonly spans = new StageSpans();
  private readonly now: () => number;
  private readonly liveArea?: LiveArea;
  private errors = 0;
  private iterations = 0;
  private readonly running = new Map<string, Running>();
  private readonly forwards = new Map<string, ForwardEvent>();
  private readonly pods = new Map<string, PodsEvent>();
  private iteration?: { n: number; reason?: string; started: number };
  private lastIteration?: IterationEvent & { time: string; reasonShown?: string };
  private pending = 0;
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private dirty = false;
  private closed = false;
  private readonly podColours = new Map<string, number>();
  /** Pod log text waiting to be written past the live lines (see toOut). */
  private outHeld = '';
  private outFlush?: NodeJS.Immediate;
  /** Skipped stages not printed yet: the next ones may join their line. */
  private skipped?: { stages: StageName[]; artifact?: string; hook?: string; detail?: string };

  /** `err` gets progress and errors; `out` gets pod logs and reports (diagnose). */
  constructor(
    private readonly err: Output,
    private readonly out: Output,
    private readonly options: TerminalOptions,
  ) {
    this.c = palette(options.color);
    this.now = options.now ?? Date.now;
    if (options.live) this.liveArea = new LiveArea(() => options.live!.columns());
  }

  /** The live lines, until close. */
  private get area(): LiveArea | undefined {
    return this.closed ? undefined : this.liveArea;
  }

  render(event: DevloopEvent): void {
    const time = Date.parse(event.time);
    if (this.skipped && !(event.type === 'stage' && event.status === 'skipped' && this.joinsSkipped(event))) this.flushSkipped();
    switch (event.type) {
      case 'stage':
        return this.stage(event, time);
      case 'progress':
        return this.progress(event);
      case 'artifact':
        return this.commit([`  ${this.c.bold(event.image)} → ${shortDigest(event.tag)}${event.cached ? this.c.dim(' (cached)') : ''}`]);
      case 'forward':
        return this.forward(event);
      case 'iteration':
        return this.iterationEvent(event, time);
      case 'pods':
        return this.podsEvent(event);
      case 'pending':
        this.pending = event.count;
        return this.changed();
      case 'log':
        return this.log(event);
      case 'notice': {
        const c = this.c;
        const lines = [event.level === 'warn' ? c.yellow(`! ${event.message}`) : `${c.cyan('i')} ${event.message}`];
        if (event.hint) lines.push(c.dim(`  hint: ${event.hint}`));
        return this.commit(lines);
      }
      case 'error': {
        const c = this.c;
        this.errors += 1;
        const where = [event.artifact, event.stage].filter(Boolean).join(' ');
        const lines = [`${c.red('error:')} ${where ? `${where}: ` : ''}${event.message}`];
        if (event.hint) lines.push(c.dim(`  hint: ${event.hint}`));
        return this.commit(lines);
      }
      case 'diagnose':
        return this.toOut(renderDiagnose(event as DiagnoseEvent, this.c));
    }
  }

  printStack(error: Error): void {
    this.commit([this.c.dim(error.stack ?? error.message)]);
  }

  /** Redraws the live lines (spinner, elapsed) or, without a terminal, prints "still running" lines. Called by the timer. */
  tick(): void {
    this.frame += 1;
    if (this.area) return this.redraw();
    const now = this.now();
    const late = [...this.running.values()].filter((r) => now >= r.nextBeat);
    for (const r of late) r.nextBeat = now + HEARTBEAT_MS;
    if (late.length > 0) this.commit(late.map((r) => this.c.dim(`… ${what(r)} still running (${formatMs(now - r.started)})`)));
  }

  /** Clears the live lines, prints the summary line for stages no iteration summarised (build, deploy), then flushes. */
  async close(): Promise<void> {
    this.flushSkipped();
    this.flushOut();
    this.stopTimer();
    this.running.clear();
    this.forwards.clear();
    this.pods.clear();
    this.iteration = undefined;
    this.lastIteration = undefined;
    this.pending = 0;
    const area = this.area;
    this.closed = true; // from now on (a late log line), plain output
    if (area) this.err.write(area.erase() + area.release());
    // After iterations (dev's cleanup) or for a single stage (delete) the stage lines say it all.
    if (!this.spans.empty && this.iterations === 0 && this.spans.list().length > 1) {
      const failed = this.spans.failed || this.errors > 0;
      const total = formatMs(this.spans.total());
      const head = failed ? `${this.c.red('✗')} failed after ${total}` : `${this.c.green('✓')} done in ${total}`;
      this.commit([`${head}${stageSummary(this.spans.list(), this.c)}`]);
      this.spans.reset();
    }
    await Promise.all([flushed(this.err), flushed(this.out)]);
  }

  /** Text that gives the terminal back as it was (the cursor), for an exit that skips close(). */
  restore(): string {
    return this.liveArea?.release() ?? '';
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────

  private stage(event: StageEvent, time: number): void {
    const c = this.c;
    const key = keyOf(event.stage, event.artifact, event.hook);
    const label = what(event);
    if (event.status === 'start') {
      this.running.set(key, { stage: event.stage, artifact: event.artifact, hook: event.hook, started: time, output: [], dropped: 0, nextBeat: time + HEARTBEAT_MS });
      this.ensureTimer();
      if (!this.area && this.options.verbose) return this.commit([c.dim(`▸ ${label}`)]);
      return this.changed();
    }
    const run = this.running.get(key);
    this.running.delete(key);
    if (event.status === 'skipped') {
      // Stages of one artifact skipped together for one reason (compile, build, push: cached) make one line.
      if (this.skipped && this.joinsSkipped(event)) this.skipped.stages.push(event.stage);
      else {
        this.skipped = { stages: [event.stage], artifact: event.artifact, hook: event.hook, detail: event.detail };
        queueMicrotask(() => this.flushSkipped()); // they are emitted together, in one go
      }
      return;
    }
    const duration = event.durationMs ?? 0;
    this.spans.add(event.stage, time, duration);
    if (event.status === 'end') {
      // Build and push progress is summed up by the end line's detail.
      // A push without a detail (oci, custom builder) ends with a progress message that sums it up.
      const last = event.stage === 'push' && !this.options.verbose ? run?.progress?.message : undefined;
      const detail = event.detail ?? (last === undefined ? undefined : withoutReference(last));
      return this.commit([`${c.green('✓')} ${label} ${c.dim(formatMs(duration))}${detail ? c.dim(` (${detail})`) : ''}`]);
    }
    this.spans.failed = true;
    const lines = [`${c.red('✗')} ${label} ${c.red(`failed after ${formatMs(duration)}`)}`];
    if (run && !this.options.verbose) lines.push(...failureTail(run, c, this.options.color));
    this.commit(lines);
  }

  private progress(event: ProgressEvent): void {
    const run = this.findRunning(event.stage, event.artifact);
    const counting = event.total !== undefined && event.current !== event.total;
    const transient = SUMMED.has(event.stage) || event.stage === 'status' || counting;
    const who = event.resource ?? event.artifact ?? event.stage;
    // "deleting deployment/hello in dev" names its resource already.
    const line = this.c.dim(`  ${event.message.includes(who) ? '' : `${who}: `}${event.message}${event.total !== undefined ? ` ${event.current ?? 0}/${event.total}` : ''}`);
    if (run) run.progress = event;
    // Results (pruned x, deleting y, files synced) are lines of their own; --verbose shows every progress line.
    if (this.options.verbose || !transient) return this.commit([line]);
    // A running account: in place on a terminal. Without one the status heartbeat is a line, and build and
    // push are summed up by their end line.
    if (this.area && run) return this.changed();
    if (event.stage === 'status' || (!run && !SUMMED.has(event.stage))) this.commit([line]);
  }

  private forward(event: ForwardEvent): void {
    const c = this.c;
    const key = `${event.resource}:${event.port}`;
    const before = this.forwards.get(key);
    if (event.status === 'stopped') this.forwards.delete(key);
    else this.forwards.set(key, event);
    const url = `http://${hostPort(event.address, event.localPort)}`;
    if (event.status === 'ready') {
      // A new pod behind the same URL is no news; the status block shows the current one.
      const news = !before || before.status !== 'ready' || before.localPort !== event.localPort || before.address !== event.address;
      if (this.area || !news) return this.changed();
      return this.commit([`${c.cyan('⇄')} ${key} → ${c.bold(url)}${event.pod ? c.dim(` (${event.pod})`) : ''}`]);
    }
    if (before?.status === event.status && before.message === event.message) return this.changed();
    if (event.status === 'reconnecting' || event.status === 'error') return this.commit([forwardTrouble(event, c)]);
    if (before) this.commit([c.dim(`⇄ ${key} stopped`)]);
  }

  private iterationEvent(event: IterationEvent & { time: string }, time: number): void {
    const c = this.c;
    if (event.status === 'start') {
      this.spans.reset();
      this.iteration = { n: event.n, reason: event.reason, started: time };
      this.ensureTimer();
      const lines = [c.bold(`── iteration ${event.n}`) + (event.reason ? ` ${c.dim('·')} ${event.reason}` : '')];
      if (this.options.verbose && event.changed?.length) lines.push(c.dim(`   changed: ${summariseFiles(event.changed)}`));
      return this.commit(lines);
    }
    this.lastIteration = { ...event, reason: event.reason ?? this.iteration?.reason, reasonShown: this.iteration?.reason };
    this.iteration = undefined;
    this.iterations += 1;
    this.spans.reset();
    this.errors = 0; // reported with this iteration
    // The stage lines above carry the durations, and the error line above the reason of a failure.
    this.commit([iterationResult(event, c)]);
  }

  private podsEvent(event: PodsEvent): void {
    const key = `${event.namespace}/${event.workload}`;
    const before = this.pods.get(key);
    if (event.total === 0) this.pods.delete(key);
    else this.pods.set(key, event);
    if (this.area) return this.changed();
    // Plain output: readiness changes between iterations (a crash, a restart); during one the status stage reports.
    if (this.iteration || !before || (before.ready === event.ready && before.total === event.total)) return;
    this.commit([podsLine(event, this.c)]);
  }

  private log(event: LogEvent): void {
    const c = this.c;
    if (event.pod) {
      const name = `${event.pod}${event.container ? `/${event.container}` : ''}`;
      return this.toOut(`${c.pick(this.podColour(name), `[${name}]`)} ${this.area ? printable(event.line) : event.line}\n`);
    }
    const stage = event.stage;
    const run = stage ? (this.running.get(keyOf(stage, event.artifact, event.hook)) ?? this.findRunning(stage, event.artifact, event.hook)) : undefined;
    if (run) {
      run.output.push(event.line);
      if (run.output.length > KEEP_LINES) {
        run.output.shift();
        run.dropped += 1;
      }
      if (event.line.trim()) run.lastLine = printable(event.line);
    }
    if (this.options.verbose || !run) {
      const prefix = `[${[event.artifact, event.stage, event.hook].filter(Boolean).join(' ')}]`;
      return this.commit([c.dim(`  ${prefix} ${toolLine(event.line, this.options.color)}`)]);
    }
    this.changed();
  }

  private joinsSkipped(event: StageEvent): boolean {
    const held = this.skipped;
    return Boolean(held && held.artifact === event.artifact && held.hook === event.hook && held.detail === event.detail && !held.stages.includes(event.stage));
  }

  private flushSkipped(): void {
    const held = this.skipped;
    if (!held) return;
    this.skipped = undefined;
    const label = [held.stages.join(', '), held.hook, held.artifact].filter(Boolean).join(' ');
    this.commit([this.c.dim(`· ${label} skipped${held.detail ? ` (${held.detail})` : ''}`)]);
  }

  // ── output ──────────────────────────────────────────────────────────────────────────────────────

  private findRunning(stage: StageName, artifact?: string, hook?: string): Running | undefined {
    const exact = this.running.get(keyOf(stage, artifact, hook));
    if (exact) return exact;
    // A hook's output may name the artifact its stage event leaves out (a hook of the whole config).
    for (const run of this.running.values()) if (run.stage === stage && (hook === undefined || run.hook === hook) && (run.artifact === undefined || artifact === undefined || run.artifact === artifact)) return run;
    return undefined;
  }

  private podColour(name: string): number {
    let index = this.podColours.get(name);
    if (index === undefined) {
      index = this.podColours.size;
      this.podColours.set(name, index);
    }
    return index;
  }

  /** Prints `lines` for good (above the live lines on a terminal). */
  private commit(lines: string[]): void {
    this.flushOut();
    const text = lines.map((line) => `${line}\n`).join('');
    if (!this.area) return void this.err.write(text);
    this.dirty = false;
    this.err.write(this.area.erase() + text + this.area.draw(this.liveLines()));
  }

  /**
   * Writes to stdout; on the same terminal the live lines step aside first. Pod log lines arriving
   * together (one chunk, one turn of the event loop) step past the live lines once, not once each.
   */
  private toOut(text: string): void {
    if (!this.area || !this.options.live!.outIsTerminal || this.area.empty) {
      this.flushOut();
      return void this.out.write(text);
    }
    this.outHeld += text;
    if (!this.outFlush) this.outFlush = setImmediate(() => this.flushOut());
  }

  private flushOut(): void {
    if (this.outFlush) clearImmediate(this.outFlush);
    this.outFlush = undefined;
    if (!this.outHeld) return;
    const text = this.outHeld;
    this.outHeld = '';
    const area = this.area;
    if (!area) return void this.out.write(text);
    this.err.write(area.erase());
    this.out.write(text);
    this.dirty = false;
    this.err.write(area.draw(this.liveLines()));
  }

  /** The live lines changed: redraw now, or with the next frame when a timer runs. */
  private changed(): void {
    if (!this.area) return;
    this.dirty = true;
    if (!this.timer) this.redraw();
  }

  private redraw(): void {
    if (!this.area) return;
    if (this.outHeld) return this.flushOut();
    const animated = this.running.size > 0 || this.iteration !== undefined;
    if (!animated && !this.dirty) return;
    this.dirty = false;
    this.err.write(this.area.erase() + this.area.draw(this.liveLines()));
    if (!animated) this.stopTimer();
  }

  private ensureTimer(): void {
    if (this.timer || this.options.timer === false) return;
    this.timer = setInterval(() => {
      if (!this.area && this.running.size === 0) return this.stopTimer();
      this.tick();
    }, this.area ? FRAME_MS : 1000);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  // ── the live lines ──────────────────────────────────────────────────────────────────────────────

  private liveLines(): string[] {
    const c = this.c;
    const now = this.now();
    const spin = c.cyan(SPINNER[this.frame % SPINNER.length]!);
    const rows = this.options.live!.rows();
    const lines: string[] = [];
    const block = this.statusBlock(spin, now);
    // Never taller than the screen (the cursor cannot go back above it): cut the running stages first.
    const room = Math.max(1, rows - block.length - 2);
    const running = [...this.running.values()];
    const shown = running.length > room ? running.slice(0, room - 1) : running;
    for (const run of shown) lines.push(`${spin} ${what(run)} ${c.dim(formatMs(Math.max(0, now - run.started)))}${this.activity(run)}`);
    if (shown.length < running.length) lines.push(c.dim(`  … and ${running.length - shown.length} more running`));
    return [...lines, ...block].slice(0, Math.max(1, rows - 1));
  }

  private activity(run: Running): string {
    const c = this.c;
    const progress = run.progress;
    if (progress?.total !== undefined && progress.total > 0 && progress.stage === 'push') {
      const share = Math.min(1, (progress.current ?? 0) / progress.total);
      const width = 20;
      const done = Math.round(share * width);
      return `  ${c.cyan('━'.repeat(done))}${c.dim('─'.repeat(width - done))} ${bytes(progress.current ?? 0)}/${bytes(progress.total)}`;
    }
    if (progress) return c.dim(`  ${progress.resource ? `${progress.resource}: ` : ''}${progress.message}${progress.total !== undefined ? ` ${progress.current ?? 0}/${progress.total}` : ''}`);
    if (run.lastLine) return c.dim(`  ${run.lastLine.trim()}`);
    return '';
  }

  private statusBlock(spin: string, now: number): string[] {
    const c = this.c;
    const forwards = [...this.forwards.values()];
    const pods = [...this.pods.values()];
    if (forwards.length === 0 && pods.length === 0 && this.pending === 0) return [];
    const lines = [c.dim('─'.repeat(Math.min(60, this.options.live!.columns() - 1)))];
    for (const f of forwards.slice(0, 4)) {
      const target = `${f.resource}:${f.port}`;
      if (f.status === 'ready') lines.push(`${c.cyan('⇄')} ${c.bold(`http://${hostPort(f.address, f.localPort)}`)} ${c.dim(`→ ${target}${f.pod ? ` (${f.pod})` : ''}`)}`);
      else lines.push(forwardTrouble(f, c));
    }
    if (forwards.length > 4) lines.push(c.dim(`  … ${forwards.length - 4} more forwards`));
    if (pods.length > 0) lines.push(pods.map((p) => podsLine(p, c)).join('  '));
    if (this.iteration) {
      lines.push(`${spin} iteration ${this.iteration.n} ${c.dim(formatMs(Math.max(0, now - this.iteration.started)))}${this.iteration.reason ? ` ${c.dim(`· ${this.iteration.reason}`)}` : ''}`);
    } else if (this.lastIteration) {
      const last = this.lastIteration;
      const at = new Date(Date.parse(last.time)).toTimeString().slice(0, 8);
      const why = last.status === 'ok' ? last.reasonShown : last.reason;
      lines.push(`${iterationResult(last, c)}${why ? c.dim(` · ${why}`) : ''}${c.dim(` · ${at}`)}`);
    }
    if (this.pending > 0) {
      const what = `${this.pending} changed file${this.pending === 1 ? '' : 's'}`;
      lines.push(c.yellow(`… ${what} ${this.iteration ? 'waiting for the next iteration' : 'pending'}`));
    }
    return lines;
  }
}

function what(event: { stage: StageName; hook?: string; artifact?: string }): string {
  return [event.stage, event.hook, event.artifact].filter(Boolean).join(' ');
}

/** The last lines of a failed stage's tool output (the command and exit code follow in the error line). */
function failureTail(run: Running, c: Palette, color: boolean): string[] {
  const lines = run.output.filter((line, i, all) => line.trim() !== '' || i < all.length - 1);
  if (lines.length === 0) return [];
  const shown = lines.slice(-FAILURE_LINES);
  const earlier = run.dropped + lines.length - shown.length;
  const gutter = c.dim('  │');
  return [...(earlier > 0 ? [`${gutter} ${c.dim(`… ${earlier} earlier line${earlier === 1 ? '' : 's'} (--verbose shows all output)`)}`] : []), ...shown.map((line) => `${gutter} ${toolLine(line, color)}`)];
}

/** A line of a tool's output as devloop shows it: no control codes, and no colour codes either when colour is off. */
function toolLine(line: string, color: boolean): string {
  const safe = printable(line);
  return color ? safe : withoutColour(safe);
}

/** "✓ iteration 3 ok in 1.2s" / "✗ iteration 3 failed after 800ms": the result line and the status block's last iteration. */
function iterationResult(event: IterationEvent, c: Palette): string {
  const took = formatMs(event.durationMs ?? 0);
  return event.status === 'ok' ? `${c.green('✓')} iteration ${event.n} ok in ${took}` : `${c.red('✗')} iteration ${event.n} failed after ${took}`;
}

/** A forward that is not ready (reconnecting, or failed), as a line of its own and in the status block. */
function forwardTrouble(f: ForwardEvent, c: Palette): string {
  const target = `${f.resource}:${f.port}`;
  const why = f.message ? `: ${f.message}` : '';
  return f.status === 'reconnecting' ? c.yellow(`⇄ ${target} reconnecting${why}`) : c.red(`⇄ ${target} failed${why}`);
}

function podsLine(p: PodsEvent, c: Palette): string {
  const dot = p.ready === p.total ? c.green('●') : c.yellow('●');
  return `${dot} ${p.workload} ${p.ready}/${p.total} ready`;
}

function stageSummary(stages: { stage: StageName; durationMs: number }[], c: Palette): string {
  if (stages.length === 0) return '';
  return c.dim(` — ${stages.map((s) => `${s.stage} ${formatMs(s.durationMs)}`).join(' · ')}`);
}

function summariseFiles(files: string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} +${files.length - 3} more` : shown;
}

/** `repo:tag@sha256:<64 hex>` → `repo:tag@sha256:<12 hex>…`: the tag already names the image; `-o json` has it whole. */
function shortDigest(ref: string): string {
  return ref.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}$/, '@sha256:$1…');
}

/**
 * A push's last progress message as its end line's detail, without the pushed reference, which the
 * artifact line right after shows: "pushed r:t@sha256:… (3 uploaded, 0 mounted)" → "3 uploaded, 0 mounted",
 * "pushed r:t@sha256:…: an index of linux/amd64, linux/arm64" → "an index of linux/amd64, linux/arm64".
 */
function withoutReference(message: string): string {
  if (!/@sha256:[0-9a-f]{64}/.test(message)) return message;
  return /\(([^()]*)\)$/.exec(message)?.[1] ?? (message.replace(/^pushed \S+:? ?/, '') || message);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
