/** A LoadedConfig literal for tests: defaults for every field, overridable per section. */
import { join } from 'node:path';
import type { BuildConfig, DeployConfig, DevloopConfig, LoadedConfig } from '../../src/config/types.js';

export type ConfigOverrides = Partial<Omit<DevloopConfig, 'build' | 'deploy'>> & { build?: Partial<BuildConfig>; deploy?: Partial<DeployConfig> };

/** A config loaded from `<dir>/devloop.yaml`; `overrides.build` and `overrides.deploy` are merged into the defaults. */
export function loadedConfig(dir: string, overrides: ConfigOverrides = {}): LoadedConfig {
  const { build, deploy, ...rest } = overrides;
  return {
    file: join(dir, 'devloop.yaml'),
    dir,
    activeProfiles: [],
    config: {
      apiVersion: 'devloop/v1',
      kind: 'Config',
      metadata: { name: 'test' },
      build: { tagPolicy: 'inputDigest', defaultRepo: '', push: 'auto', insecureRegistries: [], concurrency: 2, artifacts: [], ...build },
      manifests: [],
      render: { imagePaths: [] },
      deploy: { kubeContext: '', namespace: '', statusCheck: { timeout: 60_000 }, kustomize: { paths: [], binary: '' }, helm: { binary: '', releases: [] }, ...deploy },
      portForward: [],
      profiles: [],
      ...rest,
    },
  };
}
