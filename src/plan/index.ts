/**
 * The planner: changed paths + config + previous state → the least work per artifact. Pure: what
 * a path means for an artifact comes in as a function (the inputs module's `createChangeClassifier`,
 * built once per config by `rules.ts`), so the planner acts on exactly what the input digest counts.
 *
 * - reload:   devloop.yaml changed (everything else waits for the new config)
 * - sync:     every changed file of an artifact matches one of its `sync` rules
 * - live update: a sync whose rule says `restart: true`, or a compile input of an artifact with such
 *             a rule (compile, then copy its outputs the restart rules cover): copy, then restart the
 *             process in the running containers; only for artifacts deployed with the supervisor
 *             (`supervised`), else a rebuild
 * - rebuild:  any other input changed (only that artifact; compile only if a compile input changed)
 * - redeploy: a manifest changed (re-render + apply, no builds)
 * - hold:     the batch only holds files the previous iterations rewrote in a loop (`self-writes.ts`)
 * - deploy:   nothing runs what was built (never deployed, or the last deploy failed): copying files
 *             into containers would reach none, so the change rebuilds and deploys instead
 *
 * Besides a batch of changes, two more questions have their answer here: what a run that builds
 * everything does (the first run, `r`, a reloaded config: `planAll`), and what is left of a plan
 * once the runner found that some containers cannot take a sync (`planAfterSyncUnavailable`).
 * The runner executes a plan as it is: syncs, then builds, then (with `deploy`) render + apply.
 */
import { posix } from 'node:path';
import type { ChangeClassifier, InputChange } from '../inputs/index.js';
import { mapSyncPath, type CompiledSyncRule } from '../sync/map.js';
import { judgeSelfWrites, type SelfWriteState } from './self-writes.js';

export { noSelfWrites, type SelfWriteState } from './self-writes.js';

export type ChangeKind = 'write' | 'delete' | 'deleteDir';

export interface FileChange {
  /** Absolute posix path. */
  path: string;
  kind: ChangeKind;
}

export interface ArtifactRules {
  image: string;
  /** Absolute context folder. */
  context: string;
  hasCompile: boolean;
  /** What a changed absolute path means for the artifact (undefined: no input), from the inputs module. */
  input: ChangeClassifier;
  sync: CompiledSyncRule[];
}

export interface PlanState {
  /** Artifacts whose containers cannot take a sync (no tar): their syncable changes rebuild. */
  noSync: ReadonlySet<string>;
  /** Artifacts with files synced since their last build: a pod restart would lose them. */
  syncedSinceBuild: ReadonlySet<string>;
  /** Absolute paths that changed while the previous iteration ran, and not since. */
  changedDuringLast: ReadonlySet<string>;
  selfWrites: SelfWriteState;
  /**
   * Artifacts whose running containers run under devloop's supervisor (dev wraps artifacts with a
   * restart rule whose image has /bin/sh): only these can be live-updated (absent: none).
   */
  supervised?: ReadonlySet<string>;
  /** Artifacts with a running container that lacks files synced since the build (restarted by the kubelet, a new pod). */
  stale?: ReadonlySet<string>;
  /** Artifacts with a successful build (a later sync has an image to start from). */
  built: ReadonlySet<string>;
  /** The last deploy succeeded and its pods run: false before the first one, after a failed one, or when a sync found no container. */
  deployed: boolean;
}

export interface PlanInput {
  changes: FileChange[];
  configFile: string;
  configDir: string;
  /** Whether a path (posix, relative to the config folder) is one of the manifests. */
  isManifest: (relPath: string) => boolean;
  artifacts: ArtifactRules[];
  state: PlanState;
}

export interface SyncCopy {
  /** Absolute local path. */
  local: string;
  /** Absolute container path. */
  path: string;
  /** The rule's destination folder (tar extracts relative to it). */
  dest: string;
}

export interface SyncRemove {
  path: string;
  dest: string;
  dir: boolean;
}

export type ArtifactAction =
  | {
      kind: 'sync';
      image: string;
      files: string[];
      copy: SyncCopy[];
      remove: SyncRemove[];
      /** Live update: restart the process in the containers after copying. */
      restart: boolean;
      /** Run the compile step first, then copy the outputs its restart rules cover (they are added to `copy` by the runner). */
      compile: boolean;
    }
  | { kind: 'rebuild'; image: string; compile: boolean; files: string[] };

export type SyncAction = Extract<ArtifactAction, { kind: 'sync' }>;

export interface Plan {
  /** Load devloop.yaml again first; then `planAll` with the new config says what to do (the actions wait). */
  reload: boolean;
  /** Manifests changed (or nothing known to run): re-render and apply even without builds. */
  redeploy: boolean;
  /** After the syncs and builds: render, apply, wait until healthy, refresh the forwards (a rebuild or `redeploy`). */
  deploy: boolean;
  /** In this order: the syncs, then the builds (concurrently). */
  actions: ArtifactAction[];
  /** Ignore files changed: the caller must rebuild its classifiers. */
  refreshRules: boolean;
  /** Changed paths that matter, relative to the config folder (`../docker/Dockerfile` outside it). */
  changed: string[];
  /** One line: "rebuild hello: main.go changed". */
  reason: string;
  /** Things worth saying once (a sync rule refused a path…). */
  notes: string[];
  /** The self-write state for the next plan. */
  selfWrites: SelfWriteState;
  /** Changes not acted on (a self-write loop): hand them to the next plan with its changes. */
  held: FileChange[];
}

export function isEmptyPlan(plan: Plan): boolean {
  return !plan.reload && !plan.deploy && plan.actions.length === 0;
}

export interface PlanAllInput {
  artifacts: ArtifactRules[];
  /** Why: "initial build and deploy", "rebuild all (r)", the reload's reason. */
  reason: string;
  state: Pick<PlanState, 'selfWrites'>;
}

/** Build every artifact (compile included) and deploy: the first run, `r`, and a reloaded config. */
export function planAll(input: PlanAllInput): Plan {
  const actions = input.artifacts.map((rules): ArtifactAction => ({ kind: 'rebuild', image: rules.image, compile: rules.hasCompile, files: [] }));
  return { reload: false, redeploy: true, deploy: true, actions: sortActions(actions), refreshRules: false, changed: [], reason: input.reason, notes: [], selfWrites: input.state.selfWrites, held: [] };
}

/**
 * The rest of `decided` once its syncs ran and those into `state.noSync` artifacts found no way in
 * (no tar in the image): those artifacts rebuild instead (no compile: only files the image copies
 * changed), with the plan's other builds, and deploy. The syncs that ran are done: none is left.
 */
export function planAfterSyncUnavailable(decided: Plan, input: Pick<PlanInput, 'artifacts' | 'state'>): Plan {
  const actions: ArtifactAction[] = [];
  for (const action of decided.actions) {
    if (action.kind === 'rebuild') actions.push(action);
    else if (input.state.noSync.has(action.image)) actions.push({ kind: 'rebuild', image: action.image, compile: false, files: action.files });
  }
  const deploy = decided.deploy || actions.length > 0;
  if (deploy) addNeverBuilt(actions, input.artifacts, input.state.built);
  return { ...decided, deploy, actions: sortActions(actions), notes: [] };
}

interface ArtifactChanges {
  rules: ArtifactRules;
  files: string[];
  compile: boolean;
  /** A change that only a rebuild can apply. */
  needsBuild: boolean;
  /** The sync must restart the process / run the compile step first (live update). */
  restart: boolean;
  syncCompile: boolean;
  copy: SyncCopy[];
  remove: SyncRemove[];
}

export function plan(input: PlanInput): Plan {
  const notes: string[] = [];
  const changed = new Set<string>();
  let reload = false;
  let refreshRules = false;
  const manifestFiles: string[] = [];
  const perArtifact = new Map<string, ArtifactChanges>();
  const mattering: FileChange[] = [];

  for (const change of dedupe(input.changes)) {
    // Relative to the config folder, `../…` outside it: manifest inputs may lie there too (a kustomize base at ../shared-base).
    const fromConfig = posix.relative(input.configDir, change.path);
    const matters = (): void => {
      changed.add(fromConfig);
      if (mattering.at(-1) !== change) mattering.push(change);
    };
    if (change.path === input.configFile) {
      reload = true;
      matters();
      continue;
    }
    if (change.kind !== 'deleteDir' && input.isManifest(fromConfig)) {
      manifestFiles.push(fromConfig);
      matters();
    }
    for (const rules of input.artifacts) {
      const meaning = rules.input(change.path, change.kind === 'deleteDir');
      if (!meaning) continue;
      const rel = meaning.rel;
      const decision = classifyChange(rules, meaning, change, input.state, notes);
      if (decision.refreshRules) refreshRules = true;
      matters();
      let entry = perArtifact.get(rules.image);
      if (!entry) {
        entry = { rules, files: [], compile: false, needsBuild: false, restart: false, syncCompile: false, copy: [], remove: [] };
        perArtifact.set(rules.image, entry);
      }
      entry.files.push(rel);
      if (decision.kind === 'build') {
        entry.needsBuild = true;
        entry.compile ||= decision.compile;
      } else {
        entry.copy.push(...decision.copy);
        entry.remove.push(...decision.remove);
        entry.restart ||= decision.restart;
        entry.syncCompile ||= decision.compile;
        // The compile step itself runs in the live update; a rebuild instead compiles too.
        entry.compile ||= decision.compile;
      }
    }
  }

  const manifestsChanged = manifestFiles.length > 0;
  const { built, deployed } = input.state;
  const supervised = input.state.supervised ?? new Set<string>();
  const actions: ArtifactAction[] = [];
  for (const entry of perArtifact.values()) {
    const files = entry.files.sort();
    const image = entry.rules.image;
    // A restart needs the supervisor in the running containers; without it, a rebuild gives the same result.
    const liveUnavailable = entry.restart && !supervised.has(image);
    // A sync reaches only running containers: with none of this build running, build and deploy instead.
    if (entry.needsBuild || liveUnavailable || !built.has(image) || !deployed) {
      actions.push({ kind: 'rebuild', image, compile: entry.compile || (entry.rules.hasCompile && !built.has(image)), files });
    } else actions.push({ kind: 'sync', image, files, copy: entry.copy, remove: entry.remove, restart: entry.restart, compile: entry.syncCompile });
  }
  // A container restarted by the kubelet (or a new pod) runs the image without what was synced since: copy it again.
  if (deployed) {
    for (const image of input.state.stale ?? []) {
      if (perArtifact.has(image) || !built.has(image)) continue;
      actions.push({ kind: 'sync', image, files: [], copy: [], remove: [], restart: supervised.has(image), compile: false });
    }
  }
  const redeploy = manifestsChanged || (!deployed && perArtifact.size > 0);
  if (redeploy) {
    // A redeploy may restart pods, which would drop files synced since the image was built.
    for (const rules of input.artifacts) {
      if (!input.state.syncedSinceBuild.has(rules.image)) continue;
      const index = actions.findIndex((a) => a.image === rules.image);
      if (index >= 0 && actions[index]!.kind === 'rebuild') continue;
      const files = index >= 0 ? actions[index]!.files : [];
      const action: ArtifactAction = { kind: 'rebuild', image: rules.image, compile: false, files };
      if (index >= 0) actions[index] = action;
      else actions.push(action);
    }
  }
  const deploy = redeploy || actions.some((a) => a.kind === 'rebuild');
  if (deploy) addNeverBuilt(actions, input.artifacts, built);
  sortActions(actions);

  const verdict = judgeSelfWrites(input.state.selfWrites, mattering.map((c) => c.path), input.state.changedDuringLast);
  if (verdict.hold) {
    const found = verdict.found?.map((p) => posix.relative(input.configDir, p));
    const loopNotes = found ? [selfWriteNote(found)] : [];
    return { reload: false, redeploy: false, deploy: false, actions: [], refreshRules: false, changed: [], reason: '', notes: loopNotes, selfWrites: verdict.next, held: mattering };
  }
  // A new config may change every rule: what to build waits for it (`planAll` after the reload).
  const result: Plan = reload
    ? { reload, redeploy: false, deploy: false, actions: [], refreshRules: false, changed: [...changed].sort(), reason: '', notes, selfWrites: verdict.next, held: [] }
    : { reload, redeploy, deploy, actions, refreshRules, changed: [...changed].sort(), reason: '', notes, selfWrites: verdict.next, held: [] };
  const compiles = new Set(input.artifacts.filter((a) => a.hasCompile).map((a) => a.image));
  result.reason = describe(result, manifestFiles.sort(), compiles, built, !deployed && !manifestsChanged);
  return result;
}

/** Rendering needs every artifact's image: one that never built successfully builds now. */
function addNeverBuilt(actions: ArtifactAction[], artifacts: readonly ArtifactRules[], built: ReadonlySet<string>): void {
  for (const rules of artifacts) {
    if (built.has(rules.image) || actions.some((a) => a.image === rules.image)) continue;
    actions.push({ kind: 'rebuild', image: rules.image, compile: rules.hasCompile, files: [] });
  }
}

function sortActions(actions: ArtifactAction[]): ArtifactAction[] {
  return actions.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
}

type Decision =
  | { kind: 'build'; compile: boolean; refreshRules?: boolean }
  | { kind: 'sync'; copy: SyncCopy[]; remove: SyncRemove[]; restart: boolean; compile: boolean; refreshRules?: boolean };

function classifyChange(rules: ArtifactRules, meaning: InputChange, change: FileChange, state: PlanState, notes: string[]): Decision {
  if (meaning.definition) return { kind: 'build', compile: meaning.compile, refreshRules: meaning.definition === 'ignore' };
  // A deleted folder: which files it held is unknown; a sync rule covering it removes it all.
  if (!meaning.compile || change.kind === 'deleteDir') {
    const sync = syncDecision(rules, meaning.rel, change, state, notes);
    if (sync) return sync;
  }
  if (meaning.compile && change.kind !== 'deleteDir' && compilesLive(rules) && !state.noSync.has(rules.image)) {
    // The compile's outputs reach the containers through the restart rules. A source the image
    // also copies must reach them too: through a sync rule, or else by a rebuild.
    if (!meaning.image) return { kind: 'sync', copy: [], remove: [], restart: true, compile: true };
    const sync = syncDecision(rules, meaning.rel, change, state, notes);
    if (sync?.kind === 'sync') return { ...sync, restart: true, compile: true };
  }
  return { kind: 'build', compile: meaning.compile };
}

/** An artifact whose compile outputs are live-updated: it compiles and has a sync rule with `restart: true`. */
function compilesLive(rules: Pick<ArtifactRules, 'hasCompile' | 'sync'>): boolean {
  return rules.hasCompile && rules.sync.some((s) => s.rule.restart === true);
}

function syncDecision(rules: ArtifactRules, rel: string, change: FileChange, state: PlanState, notes: string[]): Decision | undefined {
  if (rules.sync.length === 0 || state.noSync.has(rules.image)) return undefined;
  const mapping = mapSyncPath(rules.sync, rel, change.kind === 'deleteDir');
  if (mapping.kind === 'none') return undefined;
  if (mapping.kind === 'refused') {
    notes.push(`not syncing ${rules.image}: ${mapping.reason}; rebuilding instead`);
    return undefined;
  }
  const restart = mapping.targets.some((t) => t.restart === true);
  if (change.kind === 'write') {
    return { kind: 'sync', copy: mapping.targets.map((t) => ({ local: change.path, path: t.path, dest: t.dest })), remove: [], restart, compile: false };
  }
  return { kind: 'sync', copy: [], remove: mapping.targets.map((t) => ({ path: t.path, dest: t.dest, dir: change.kind === 'deleteDir' })), restart, compile: false };
}

/** The last change per path wins (an atomic save is delete + write: a write). */
function dedupe(changes: FileChange[]): FileChange[] {
  const last = new Map<string, FileChange>();
  for (const change of changes) {
    last.delete(change.path);
    last.set(change.path, change);
  }
  return [...last.values()];
}

function selfWriteNote(files: string[]): string {
  const named = files.length > 5 ? `${files.slice(0, 5).join(', ')} and ${files.length - 5} more` : files.join(', ');
  return `iterations keep being started only by files the previous iteration wrote (${named}); not starting another one for them until something else changes (another file, a save while no iteration runs, or r)`;
}

function listFiles(files: string[], verb = 'changed', empty = 'sync state must reach the image'): string {
  if (files.length === 0) return empty;
  const first = files[0]!;
  return files.length === 1 ? `${first} ${verb}` : `${first} and ${files.length - 1} more ${verb}`;
}

function describe(result: Plan, manifestFiles: string[], compiles: Set<string>, built: ReadonlySet<string>, notDeployed: boolean): string {
  if (result.reload) return `reload config: ${result.changed.find((c) => c.endsWith('.yaml') || c.endsWith('.yml')) ?? 'devloop.yaml'} changed`;
  const parts: string[] = [];
  for (const action of result.actions) {
    if (action.kind === 'sync' && action.files.length === 0) {
      parts.push(`${action.restart ? 'live update' : 'sync'} ${action.image}: a container restarted without the files synced since the build`);
      continue;
    }
    const skip = action.kind === 'rebuild' && !action.compile && compiles.has(action.image) ? ' (compile skipped)' : '';
    const kind = action.kind === 'sync' && action.restart ? `live update${action.compile ? ' (compile)' : ''}` : action.kind;
    parts.push(`${kind} ${action.image}${skip}: ${listFiles(action.files, 'changed', built.has(action.image) ? undefined : 'no successful build yet')}`);
  }
  if (notDeployed && result.redeploy) parts.push('deploy: nothing deployed is known to run');
  else if (result.redeploy) parts.push(`redeploy: ${listFiles(manifestFiles)}`);
  return parts.join('; ');
}
