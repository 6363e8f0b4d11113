/** Shared by the build tests: a LoadedConfig literal, an event recorder, temp dirs. */
import { loadedConfig as sharedLoadedConfig } from '../support/config.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import type { ArtifactConfig, BuildConfig, LoadedConfig } from '../../src/config/types.js';
import type { DevloopEventBody } from '../../src/events/types.js';

export function loadedConfig(dir: string, build: Partial<BuildConfig> & { artifacts: ArtifactConfig[] }): LoadedConfig {
  return sharedLoadedConfig(dir, { build: { push: true, ...build } });
}

export function dockerArtifact(image: string, context: string, extra: Partial<ArtifactConfig> = {}): ArtifactConfig {
  return { image, context, docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [], ...extra };
}

export function recorder(): { events: DevloopEventBody[]; emit: (e: DevloopEventBody) => void } {
  const events: DevloopEventBody[] = [];
  return { events, emit: (e) => events.push(e) };
}

/** Stage events as "stage:artifact:status[:detail]" strings, easy to assert on. */
export function stages(events: DevloopEventBody[]): string[] {
  return events.flatMap((e) => (e.type === 'stage' ? [`${e.stage}:${e.artifact}:${e.status}${e.detail ? `:${e.detail}` : ''}`] : []));
}

export const tempProject = (files: Record<string, string> = {}): Promise<string> => tempTree('devloop-build-', files);
export { removeTemps };
