import type { Emit } from '../events/bus.js';
import type { ArtifactConfig, LoadedConfig } from '../config/types.js';
import type { KubeClient } from '../kube/client.js';

/** What the build stages hand to render/deploy for one artifact. */
export interface BuildResult {
  /** The artifact's `image` as written in manifests, e.g. "hello". */
  image: string;
  /** Full repository, e.g. "127.0.0.1:5000/hello". */
  repo: string;
  tag: string;
  /** Registry manifest digest (sha256:…) when pushed; absent when the image was only loaded locally. */
  digest?: string;
  /** Immutable reference for manifests: repo:tag@digest, or repo:tag when there is no digest. */
  ref: string;
  /** True when nothing was compiled, built or pushed (artifact cache hit). */
  cached: boolean;
}

export interface BuildRunOptions {
  loaded: LoadedConfig;
  emit: Emit;
  signal: AbortSignal;
  /** Overrides build.push (`devloop build --push=false`). */
  push?: boolean;
  /** Build only these artifacts (by image name); all when absent. */
  only?: string[];
  /** Skip the compile step for these artifacts (dev loop: only files the image copies changed). */
  skipCompile?: string[];
  /**
   * Must succeed before anything is compiled, built or pushed (the command's pre-flight, running
   * meanwhile). Inputs are listed and hashed while it runs; if it fails, the build ends with its
   * failure alone.
   */
  ready?: Promise<unknown>;
  /** The cluster, for build hooks that need it (kube context, containers); made on demand when absent. */
  kube?: () => Promise<KubeClient>;
  /** Dev sessions: container hooks select this session's pods. */
  runId?: string;
}

/** Registry access settings derived from the config. */
export interface RegistrySettings {
  /** Registries reached over plain HTTP besides loopback ones. */
  insecureRegistries: string[];
}

/** One image builder (Docker CLI or daemonless OCI) behind a small interface. */
export interface ImageBuilder {
  readonly kind: 'docker' | 'oci' | 'custom';
  /**
   * Builds `artifact` as `repo:tag`. When `push` is true the image ends in the registry and the
   * manifest digest is returned; otherwise it ends wherever the builder keeps local images.
   * Emits its own `build`/`push` stage events.
   */
  build(request: ImageBuildRequest): Promise<{ digest?: string; imageId?: string }>;
}

export interface ImageBuildRequest {
  artifact: ArtifactConfig;
  repo: string;
  tag: string;
  push: boolean;
  registry: RegistrySettings;
  /** Project folder (holds .devloop/ caches). */
  projectDir: string;
  /** Target platforms (os/arch[/variant]) of the cluster's nodes; absent: the builder's default. */
  platforms?: string[];
  emit: Emit;
  signal: AbortSignal;
}
