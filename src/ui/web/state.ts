/**
 * What the web view shows, folded from the event stream: artifacts, workloads, forwards, the last
 * iterations with their stage times, notices and errors, and pod logs. Bounded, so a page opened
 * an hour into a session gets the state so far without devloop holding the whole session in memory.
 */
import type { DevloopEvent, StageDuration, StageName } from '../../events/types.js';
import { hostPort } from '../output.js';

export interface WebLimits {
  iterations: number;
  linesPerPod: number;
  /** Pod/container streams kept; the one quiet the longest goes first. */
  pods: number;
  messages: number;
}

export const DEFAULT_LIMITS: WebLimits = { iterations: 100, linesPerPod: 1000, pods: 40, messages: 50 };

export interface ArtifactView {
  image: string;
  /** The artifact's latest stage and how it went. */
  stage?: StageName;
  status: 'start' | 'end' | 'error' | 'skipped';
  detail?: string;
  durationMs?: number;
  /** Bytes of a running push. */
  progress?: { current: number; total: number };
  tag?: string;
  cached?: boolean;
  /** The last failure reported for it, until its next stage starts. */
  error?: string;
  time: string;
}

export interface WorkloadView {
  resource: string;
  namespace?: string;
  state: 'waiting' | 'ready' | 'failed';
  message: string;
  time: string;
}

export interface ForwardView {
  resource: string;
  port: number | string;
  url: string;
  status: 'ready' | 'reconnecting' | 'error' | 'stopped';
  pod?: string;
  message?: string;
  time: string;
}

export interface IterationView {
  n: number;
  status: 'running' | 'ok' | 'error';
  reason?: string;
  /** The failure, for an iteration that failed. */
  error?: string;
  changed: string[];
  /** How many files changed (changed holds the first few). */
  changedCount: number;
  startedAt: string;
  durationMs?: number;
  /** Per-stage times (summed across artifacts): so far while running, the iteration's own list once done. */
  stages: StageDuration[];
}

export interface MessageView {
  level: 'info' | 'warn' | 'error';
  message: string;
  hint?: string;
  code?: string;
  time: string;
}

export interface LogLine {
  /** Order across all streams. */
  seq: number;
  pod: string;
  container?: string;
  line: string;
  time: string;
}

export interface StreamView {
  pod: string;
  container?: string;
  /** Lines kept / seen in total. */
  kept: number;
  seen: number;
}

/** Everything but the log lines: small, sent whole whenever it changes. */
export interface Summary {
  artifacts: ArtifactView[];
  workloads: WorkloadView[];
  forwards: ForwardView[];
  iterations: IterationView[];
  messages: MessageView[];
  streams: StreamView[];
}

/** What an event changed: the summary, one new log line, or nothing the page shows. */
export type Change = { kind: 'summary' } | { kind: 'log'; line: LogLine } | undefined;

const CHANGED_KEPT = 20;

export class WebState {
  private readonly artifacts = new Map<string, ArtifactView>();
  private readonly workloads = new Map<string, WorkloadView>();
  private readonly forwards = new Map<string, ForwardView>();
  private iterations: IterationView[] = [];
  private messages: MessageView[] = [];
  private readonly streams = new Map<string, { view: StreamView; lines: LogLine[] }>();
  private seq = 0;

  constructor(private readonly limits: WebLimits = DEFAULT_LIMITS) {}

  apply(event: DevloopEvent): Change {
    switch (event.type) {
      case 'stage': {
        this.running()?.stages.push(...stageTime(event));
        if (!event.artifact) return this.running() ? { kind: 'summary' } : undefined;
        const artifact = this.artifact(event.artifact, event.time);
        artifact.stage = event.stage;
        artifact.status = event.status;
        artifact.detail = event.detail ?? (event.stage === 'hook' ? event.hook : undefined);
        artifact.durationMs = event.durationMs;
        artifact.progress = undefined;
        if (event.status === 'start') artifact.error = undefined;
        return { kind: 'summary' };
      }
      case 'progress': {
        if (!event.artifact || event.total === undefined) return undefined;
        const artifact = this.artifact(event.artifact, event.time);
        artifact.progress = { current: event.current ?? 0, total: event.total };
        return { kind: 'summary' };
      }
      case 'artifact': {
        const artifact = this.artifact(event.image, event.time);
        artifact.tag = event.tag;
        artifact.cached = event.cached;
        return { kind: 'summary' };
      }
      case 'workload':
        this.workloads.set(`${event.namespace ?? ''}/${event.resource}`, {
          resource: event.resource,
          ...(event.namespace ? { namespace: event.namespace } : {}),
          state: event.state,
          message: event.message,
          time: event.time,
        });
        return { kind: 'summary' };
      case 'forward': {
        this.forwards.set(`${event.resource}:${event.port}`, {
          resource: event.resource,
          port: event.port,
          url: `http://${hostPort(event.address, event.localPort)}`,
          status: event.status,
          ...(event.pod ? { pod: event.pod } : {}),
          ...(event.message ? { message: event.message } : {}),
          time: event.time,
        });
        return { kind: 'summary' };
      }
      case 'iteration': {
        if (event.status === 'start') {
          const changed = event.changed ?? [];
          this.iterations.push({
            n: event.n,
            status: 'running',
            ...(event.reason ? { reason: event.reason } : {}),
            changed: changed.slice(0, CHANGED_KEPT),
            changedCount: changed.length,
            startedAt: event.time,
            stages: [],
          });
          if (this.iterations.length > this.limits.iterations) this.iterations.shift();
          return { kind: 'summary' };
        }
        const iteration = this.iterations.find((i) => i.n === event.n);
        if (!iteration) return undefined;
        iteration.status = event.status;
        iteration.durationMs = event.durationMs;
        if (event.stages) iteration.stages = [...event.stages];
        // An iteration that failed carries the failure as its reason.
        if (event.status === 'error' && event.reason) iteration.error = event.reason;
        return { kind: 'summary' };
      }
      case 'log': {
        if (!event.pod) return undefined; // command output belongs to its stage, not to a pod
        return { kind: 'log', line: this.addLine(event.pod, event.container, event.line, event.time) };
      }
      case 'notice':
        this.message({ level: event.level, message: event.message, ...(event.hint ? { hint: event.hint } : {}), time: event.time });
        return { kind: 'summary' };
      case 'error': {
        const where = [event.artifact, event.stage].filter(Boolean).join(' ');
        this.message({ level: 'error', message: where ? `${where}: ${event.message}` : event.message, ...(event.hint ? { hint: event.hint } : {}), code: event.code, time: event.time });
        if (event.artifact) this.artifact(event.artifact, event.time).error = event.message;
        return { kind: 'summary' };
      }
      default:
        return undefined;
    }
  }

  summary(): Summary {
    return {
      artifacts: [...this.artifacts.values()],
      workloads: [...this.workloads.values()],
      forwards: [...this.forwards.values()],
      iterations: this.iterations,
      messages: this.messages,
      streams: [...this.streams.values()].map((s) => s.view),
    };
  }

  /** Every kept line of every stream, in the order they arrived. */
  logs(): LogLine[] {
    return [...this.streams.values()].flatMap((s) => s.lines).sort((a, b) => a.seq - b.seq);
  }

  private running(): IterationView | undefined {
    const last = this.iterations.at(-1);
    return last?.status === 'running' ? last : undefined;
  }

  private artifact(image: string, time: string): ArtifactView {
    let artifact = this.artifacts.get(image);
    if (!artifact) this.artifacts.set(image, (artifact = { image, status: 'start', time }));
    artifact.time = time;
    return artifact;
  }

  private message(message: MessageView): void {
    this.messages.push(message);
    if (this.messages.length > this.limits.messages) this.messages.shift();
  }

  private addLine(pod: string, container: string | undefined, text: string, time: string): LogLine {
    const key = `${pod}/${container ?? ''}`;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { view: { pod, ...(container ? { container } : {}), kept: 0, seen: 0 }, lines: [] };
      this.streams.set(key, stream);
      if (this.streams.size > this.limits.pods) this.dropQuietestStream();
    }
    const line: LogLine = { seq: ++this.seq, pod, ...(container ? { container } : {}), line: text, time };
    stream.lines.push(line);
    if (stream.lines.length > this.limits.linesPerPod) stream.lines.shift();
    stream.view.kept = stream.lines.length;
    stream.view.seen += 1;
    // Map order = last activity, so the first entry is the stream quiet the longest.
    this.streams.delete(key);
    this.streams.set(key, stream);
    return line;
  }

  private dropQuietestStream(): void {
    const first = this.streams.keys().next();
    if (!first.done) this.streams.delete(first.value);
  }
}

/** A finished stage's time, as the iteration's own `stages` list counts it. */
function stageTime(event: Extract<DevloopEvent, { type: 'stage' }>): StageDuration[] {
  if ((event.status === 'end' || event.status === 'error') && event.durationMs !== undefined) return [{ stage: event.stage, durationMs: event.durationMs }];
  return [];
}
