/**
 * The event stream: every stage reports through these, and the terminal view and `--output json`
 * are two consumers of it. Shapes are the public JSON contract documented in the README.
 */
import type { DevloopConfig } from '../config/types.js';
import type { ErrorCode } from '../errors/codes.js';

export type StageName = 'compile' | 'build' | 'push' | 'render' | 'apply' | 'prune' | 'status' | 'sync' | 'restart' | 'delete' | 'hook';

export interface StageEvent {
  type: 'stage';
  stage: StageName;
  /** The artifact (image name) for per-artifact stages; absent for render/apply/status of the whole config. */
  artifact?: string;
  /** Stage `hook`: the hook's name. */
  hook?: string;
  status: 'start' | 'end' | 'error' | 'skipped';
  durationMs?: number;
  /** Why a stage was skipped ("cached") or a short result ("pushed 3 layers"). */
  detail?: string;
}

export interface ProgressEvent {
  type: 'progress';
  stage: StageName;
  artifact?: string;
  /** e.g. "deployment/hello" */
  resource?: string;
  message: string;
  /** Byte counters for push progress. */
  current?: number;
  total?: number;
}

export interface ArtifactEvent {
  type: 'artifact';
  image: string;
  /** Immutable reference handed to later stages: repo:tag@sha256:… (or repo:tag when only loaded locally). */
  tag: string;
  cached: boolean;
}

export interface ForwardEvent {
  type: 'forward';
  resource: string;
  port: number | string;
  localPort: number;
  address: string;
  status: 'ready' | 'reconnecting' | 'error' | 'stopped';
  /** Pod currently serving, when known. */
  pod?: string;
  message?: string;
}

/** A deployed workload's rollout state, emitted by the status check whenever it changes. */
export interface WorkloadEvent {
  type: 'workload';
  /** e.g. "deployment/hello" */
  resource: string;
  namespace?: string;
  state: 'waiting' | 'ready' | 'failed';
  /** e.g. "hello: 1/2 replicas ready" */
  message: string;
}

export interface IterationEvent {
  type: 'iteration';
  n: number;
  status: 'start' | 'ok' | 'error';
  durationMs?: number;
  changed?: string[];
  reason?: string;
  /** Per-stage durations for the summary line, in pipeline order. */
  stages?: StageDuration[];
}

/** One stage's time within an iteration. */
export interface StageDuration {
  stage: StageName;
  durationMs: number;
}

/** Pods of one workload this session deployed: emitted when their counts change (`dev`, `run --tail`). */
export interface PodsEvent {
  type: 'pods';
  /** e.g. "deployment/hello" (the pod's owner; "pod/x" for a bare pod). */
  workload: string;
  namespace: string;
  /** Pods whose Ready condition is True. */
  ready: number;
  /** Pods not terminating. */
  total: number;
}

/** `dev`: distinct changed paths waiting for the next iteration; 0 once they are taken. */
export interface PendingEvent {
  type: 'pending';
  count: number;
}

export interface LogEvent {
  type: 'log';
  line: string;
  /** Pod log lines carry pod and container… */
  pod?: string;
  container?: string;
  /** …output of user commands (compile, docker build) carries artifact and stage. */
  artifact?: string;
  stage?: StageName;
  /** Output of a hook carries its name. */
  hook?: string;
  stream?: 'stdout' | 'stderr';
}

export interface NoticeEvent {
  type: 'notice';
  level: 'info' | 'warn';
  message: string;
  hint?: string;
}

export interface ErrorEvent {
  type: 'error';
  code: ErrorCode;
  message: string;
  hint?: string;
  artifact?: string;
  stage?: StageName;
}

/** `devloop diagnose`: one report of what devloop would use and whether its dependencies answer. */
export interface DiagnoseEvent {
  type: 'diagnose';
  /** Absolute path of the config file. */
  configFile: string;
  activeProfiles: string[];
  /** The effective config after profiles and defaults (durations in ms). */
  config: DevloopConfig;
  /** The kube context devloop would use; null when there is none (then `error` says why). */
  kube: { context: string; server: string; namespace: string } | null;
  kubeError?: string;
  docker: { ok: boolean; version?: string; error?: string };
  registries: { host: string; ok: boolean; status?: number; error?: string }[];
  artifacts: {
    image: string;
    builder: 'docker' | 'oci' | 'custom';
    context: string;
    inputFiles?: number;
    hashMs?: number;
    digest?: string;
    error?: string;
  }[];
}

export type DevloopEventBody =
  | StageEvent
  | ProgressEvent
  | ArtifactEvent
  | ForwardEvent
  | WorkloadEvent
  | IterationEvent
  | PodsEvent
  | PendingEvent
  | LogEvent
  | NoticeEvent
  | ErrorEvent
  | DiagnoseEvent;

/** Every event carries an ISO 8601 `time`, stamped by the bus. */
export type DevloopEvent = DevloopEventBody & { time: string };
