import { DevloopError, FailuresError, toDevloopError } from '../errors.js';
import type { DevloopEvent, DevloopEventBody, StageDuration, StageName } from './types.js';

export type EventListener = (event: DevloopEvent) => void;

/** The one channel stages report through. Stages never print; renderers subscribe. */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(body: DevloopEventBody): void {
    const event = { ...body, time: new Date().toISOString() } as DevloopEvent;
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * Records the duration of every stage that ends or fails on `bus` until `stop` is called, for the
 * `stages` of an iteration event. `stages` is filled in place.
 */
export function collectStageDurations(bus: EventBus): { stages: StageDuration[]; stop: () => void } {
  const stages: StageDuration[] = [];
  const stop = bus.on((event) => {
    if (event.type === 'stage' && (event.status === 'end' || event.status === 'error') && event.durationMs !== undefined) {
      stages.push({ stage: event.stage, durationMs: event.durationMs });
    }
  });
  return { stages, stop: () => void stop() };
}

/** What stages receive: just the ability to emit. */
export type Emit = (body: DevloopEventBody) => void;

/** A stage that started: the caller says when it ends (`timedStage` when it is one function). */
export interface StageTimer {
  end(): void;
  /** Emits the error and returns the failure, marked with this stage when it has none. */
  fail(error: unknown): DevloopError;
}

export function startStage(emit: Emit, stage: StageName, artifact: string | undefined): StageTimer {
  const started = performance.now();
  const duration = (): number => Math.round(performance.now() - started);
  emit({ type: 'stage', stage, artifact, status: 'start' });
  return {
    end: () => emit({ type: 'stage', stage, artifact, status: 'end', durationMs: duration() }),
    fail: (error) => {
      const failure = toDevloopError(error);
      failure.stage ??= stage;
      emit({ type: 'stage', stage, artifact, status: 'error', durationMs: duration() });
      return failure;
    },
  };
}

/**
 * Runs `work` as one stage: emits start, then end with its duration, or error and rethrows.
 * Returns the work's result.
 */
export async function timedStage<T>(emit: Emit, stage: StageName, artifact: string | undefined, work: () => Promise<T>): Promise<T> {
  const timer = startStage(emit, stage, artifact);
  try {
    const result = await work();
    timer.end();
    return result;
  } catch (error) {
    throw timer.fail(error);
  }
}

/**
 * The one way a failure becomes `error` events: called only where a command (or a dev iteration)
 * ends, so each failure is reported exactly once. Several independent failures (FailuresError)
 * give one event each, carrying their artifact; the message then need not repeat it.
 * Returns the failure as a DevloopError for the exit code and the iteration's reason.
 */
export function reportFailure(emit: Emit, error: unknown): DevloopError {
  const failure = toDevloopError(error);
  const parts = failure instanceof FailuresError ? failure.failures : [{ error: failure, artifact: undefined }];
  for (const { error: part, artifact } of parts) {
    const prefix = artifact ? `${artifact}: ` : '';
    const message = prefix && part.message.startsWith(prefix) ? part.message.slice(prefix.length) : part.message;
    emit({
      type: 'error',
      code: part.code,
      message,
      hint: part.hint,
      ...(artifact ? { artifact } : {}),
      ...(part.stage ? { stage: part.stage } : {}),
    });
  }
  return failure;
}

export function skippedStage(emit: Emit, stage: StageName, artifact: string | undefined, detail: string): void {
  emit({ type: 'stage', stage, artifact, status: 'skipped', detail });
}
