/** Shared by the build tests: a LoadedConfig literal, an event recorder, temp dirs. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ArtifactConfig, BuildConfig, LoadedConfig } from '../../src/config/types.js';
import type { DevloopEventBody } from '../../src/events/types.js';

export function loadedConfig(dir: string, build: Partial<BuildConfig> & { artifacts: ArtifactConfig[] }): LoadedConfig {
  return {
    file: join(dir, 'devloop.yaml'),
    dir,
    activeProfiles: [],
    config: {
      apiVersion: 'devloop/v1',
      kind: 'Config',
      metadata: { name: 'test' },
      build: { tagPolicy: 'inputDigest', defaultRepo: '', push: true, insecureRegistries: [], concurrency: 2, ...build },
      manifests: [],
      render: { imagePaths: [] },
      deploy: { kubeContext: '', namespace: '', statusCheck: { timeout: 60_000 } },
      portForward: [],
      profiles: [],
    },
  };
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

const temps: string[] = [];
export async function tempProject(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devloop-build-'));
  temps.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}
export async function removeTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
