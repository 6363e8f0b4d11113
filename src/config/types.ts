/**
 * devloop.yaml v1, as the rest of devloop sees it: after interpolation, profiles and defaults.
 * Every optional field of the file has a concrete value here, so stages never re-apply defaults.
 */

export type TagPolicy = 'inputDigest' | 'gitCommit' | 'dateTime' | { template: string };
export type PushMode = 'auto' | boolean;

export interface CompileConfig {
  /** Array: run without a shell. String: run by /bin/sh -c. */
  command: string[] | string;
  /** Globs relative to the artifact context; empty means every non-ignored file in the context. */
  inputs: string[];
  env: Record<string, string>;
}

export interface DockerBuildConfig {
  dockerfile: string;
  buildArgs: Record<string, string>;
  target: string;
}

export interface OciLayerConfig {
  /** Path or glob inside the artifact context. */
  from: string;
  /** Absolute path in the image. */
  to: string;
  /** File mode for the entries (e.g. 0o755); default: keep the file's executable bit. */
  mode?: number;
}

export interface OciBuildConfig {
  /** Image reference in a registry, or "scratch". */
  from: string;
  layers: OciLayerConfig[];
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workdir: string;
  user: string;
  ports: number[];
  labels: Record<string, string>;
  /** os/arch[/variant]; empty: the build's target platforms (one image each, an index when several). */
  platform: string;
  /** Layer compression; auto: none for a loopback registry or an unpushed image, gzip otherwise. */
  compression: 'auto' | 'gzip' | 'none';
  /** gzip level (1–9) when layers are gzip'd. */
  gzipLevel: number;
}

/** A user script that builds the image (as Skaffold's custom builder): it pushes it, or leaves an OCI layout / `docker save` tarball. */
export interface CustomBuildConfig {
  /** Array: run without a shell. String: run by /bin/sh -c. */
  command: string[] | string;
  /** Globs relative to the context: the script's inputs (cache, watching); empty: every non-ignored file. */
  inputs: string[];
  env: Record<string, string>;
  timeout: number /* ms */;
}

export interface SyncRule {
  /** Glob relative to the artifact context. */
  src: string;
  /** Absolute directory in the container; paths relative to the glob's base are kept below it. */
  dest: string;
  /** `devloop dev`: re-run the container's process after copying (live update). Absent in configs built by hand: false. */
  restart?: boolean;
}

export interface HookConfig {
  /** Absent: named after its place, e.g. "deploy.after[0]". */
  name?: string;
  /** Array: run without a shell. String: run by sh -c. */
  command: string[] | string;
  runIn: 'host' | 'containers';
  /** runIn containers: the artifact (image name) whose running containers run it. */
  artifact?: string;
  env: Record<string, string>;
  timeout: number /* ms */;
  nonFatal: boolean;
}

export interface HookPhases {
  before: HookConfig[];
  after: HookConfig[];
}

export interface ArtifactConfig {
  image: string;
  /** Absolute path (resolved against the config file's folder). */
  context: string;
  compile?: CompileConfig;
  /** Exactly one of docker / oci / custom is set after defaults. */
  docker?: DockerBuildConfig;
  oci?: OciBuildConfig;
  custom?: CustomBuildConfig;
  sync: SyncRule[];
  /** Filled by the schema; optional for configs built by hand (tests). */
  hooks?: { build: HookPhases; sync: HookPhases };
}

export interface BuildConfig {
  tagPolicy: TagPolicy;
  defaultRepo: string;
  push: PushMode;
  insecureRegistries: string[];
  concurrency: number;
  /** Target platforms (os/arch[/variant]); a string in the file is one entry; empty: the nodes' (optional for configs built by hand). */
  platform?: string | string[];
  artifacts: ArtifactConfig[];
}

export interface ImagePathRule {
  kind: string;
  group: string;
  /** Dotted path to a string field, e.g. ".spec.image". */
  path: string;
}

export interface RenderConfig {
  imagePaths: ImagePathRule[];
}

export interface KustomizeConfig {
  /** Kustomization folders, relative to the config file's folder, rendered in this order. */
  paths: string[];
  /** Program to run; empty: `kubectl` (as `kubectl kustomize`) if on PATH, else `kustomize` (as `kustomize build`). */
  binary: string;
}

export interface HelmReleaseConfig {
  /** Release name (`.Release.Name`). */
  name: string;
  /** Local chart folder, relative to the config file's folder. */
  chart: string;
  /** `--namespace`; empty: the deploy namespace. */
  namespace: string;
  /** `-f` files, relative to the config file's folder. */
  valuesFiles: string[];
  /** `--set key=value`. */
  setValues: Record<string, string>;
}

export interface HelmConfig {
  /** Program to run; empty: `helm` on PATH, else ~/.cache/devloop-helm/helm. */
  binary: string;
  releases: HelmReleaseConfig[];
}

export interface DeployConfig {
  kubeContext: string;
  namespace: string;
  statusCheck: { timeout: number /* ms */ };
  kustomize: KustomizeConfig;
  helm: HelmConfig;
  hooks?: HookPhases;
}

export interface PortForwardConfig {
  /** "service/x" | "deployment/x" | "pod/x" */
  resource: string;
  port: number | string;
  localPort?: number;
  address: string;
  namespace?: string;
  /** ms a connection is held while no pod is Ready (default DEFAULT_FORWARD_TIMEOUTS.podWaitMs). */
  holdTimeout?: number;
}

export interface ProfileActivation {
  env?: string;
  command?: string;
  kubeContext?: string;
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface ProfileConfig {
  name: string;
  activation: ProfileActivation[];
  patches: JsonPatchOperation[];
}

export interface DevloopConfig {
  apiVersion: 'devloop/v1';
  kind: 'Config';
  metadata: { name: string };
  build: BuildConfig;
  /** Globs relative to the config file's folder. */
  manifests: string[];
  render: RenderConfig;
  deploy: DeployConfig;
  portForward: PortForwardConfig[];
  profiles: ProfileConfig[];
}

/** A loaded config plus where it came from; paths in it are absolute. */
export interface LoadedConfig {
  config: DevloopConfig;
  /** Absolute path of devloop.yaml. */
  file: string;
  /** Folder of devloop.yaml; relative paths in the file resolve against it. */
  dir: string;
  /** Names of the profiles that were applied, in order. */
  activeProfiles: string[];
}
