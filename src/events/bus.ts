import { DevloopError, toDevloopError } from '../errors.js';
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

/**
 * Runs `work` as one stage: emits start, then end with its duration, or error and rethrows.
 * Returns the work's result.
 */
export async function timedStage<T>(
  emit: Emit,
  stage: StageName,
  artifact: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  emit({ type: 'stage', stage, artifact, status: 'start' });
  try {
    const result = await work();
    emit({ type: 'stage', stage, artifact, status: 'end', durationMs: Math.round(performance.now() - started) });
    return result;
  } catch (error) {
    const failure = toDevloopError(error);
    emit({ type: 'stage', stage, artifact, status: 'error', durationMs: Math.round(performance.now() - started) });
    throw failure instanceof DevloopError ? failure : error;
  }
}

export function skippedStage(emit: Emit, stage: StageName, artifact: string | undefined, detail: string): void {
  emit({ type: 'stage', stage, artifact, status: 'skipped', detail });
}
