/**
 * Lifecycle hooks: the user's commands before/after an artifact's build, a deploy, or a sync. Each
 * hook is its own stage (`hook` events carrying its name), runs on the host through the process
 * helper or in the running containers of an artifact through exec, is bounded by its timeout, and
 * stops the iteration when it fails — unless it is an `after` hook marked non-fatal.
 */
import type { BuildResult } from '../build/types.js';
import type { BuildConfig, HookConfig } from '../config/types.js';
import { imageRepository } from '../tag/index.js';
import { isTaggedReferenceTo, sameImage } from '../registry/reference.js';
import type { Emit } from '../events/bus.js';
import { DevloopError, firstLine, toDevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { abortError, CommandFailedError, runUserCommand } from '../compile/index.js';

export type HookWhen = 'before' | 'after';

export interface HookRun {
  /** "build", "sync" (per artifact) or "deploy"; default names are "<phase>.<when>[i]". */
  phase: 'build' | 'sync' | 'deploy';
  when: HookWhen;
  /** The artifact the hooks belong to (build and sync hooks). */
  artifact?: string;
  /** Host hooks' folder. */
  cwd: string;
  /** DEVLOOP_* variables for host hooks (image, tag, kube context, namespace…). */
  env: Record<string, string>;
  emit: Emit;
  signal: AbortSignal;
  /** For hooks that run in containers: the cluster, where to look, and the current builds. */
  cluster?: () => Promise<HookCluster>;
}

export interface HookCluster {
  kube: KubeClient;
  namespaces: string[];
  /** Selects the pods this command / session deployed. */
  labelSelector: string;
  /** The build section: the artifacts (and their repositories) container hooks may name. */
  buildConfig: Pick<BuildConfig, 'defaultRepo' | 'artifacts'>;
  builds: readonly Pick<BuildResult, 'image' | 'repo' | 'tag' | 'digest' | 'ref'>[];
}

function hookName(hook: HookConfig, run: Pick<HookRun, 'phase' | 'when'>, index: number): string {
  return hook.name ?? `${run.phase}.${run.when}[${index}]`;
}

/** Runs `hooks` one after the other; the first fatal failure is thrown (as a typed one-line error). */
export async function runHooks(hooks: readonly HookConfig[] | undefined, run: HookRun): Promise<void> {
  for (const [index, hook] of (hooks ?? []).entries()) {
    const name = hookName(hook, run, index);
    const started = performance.now();
    const ms = (): number => Math.round(performance.now() - started);
    run.emit({ type: 'stage', stage: 'hook', hook: name, artifact: run.artifact, status: 'start' });
    try {
      const detail = hook.runIn === 'containers' ? await inContainers(hook, name, run) : await onHost(hook, name, run);
      if (detail === undefined) run.emit({ type: 'stage', stage: 'hook', hook: name, artifact: run.artifact, status: 'end', durationMs: ms() });
      else run.emit({ type: 'stage', stage: 'hook', hook: name, artifact: run.artifact, status: 'skipped', detail });
    } catch (error) {
      run.emit({ type: 'stage', stage: 'hook', hook: name, artifact: run.artifact, status: 'error', durationMs: ms() });
      if (run.signal.aborted) throw abortError(run.signal);
      const failure = toDevloopError(error);
      if (run.when === 'after' && hook.nonFatal) {
        run.emit({ type: 'notice', level: 'warn', message: `${failure.message} (non-fatal hook: going on)`, hint: failure.hint });
        continue;
      }
      throw failure;
    }
  }
}

function label(name: string, run: HookRun): string {
  return `${run.artifact ? `${run.artifact}: ` : ''}hook "${name}"`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Host hook: the process helper (own process group, SIGTERM then SIGKILL on timeout or abort). */
async function onHost(hook: HookConfig, name: string, run: HookRun): Promise<undefined> {
  const outcome = await runUserCommand({
    command: hook.command,
    cwd: run.cwd,
    env: { ...run.env, DEVLOOP_HOOK: name, ...hook.env },
    signal: run.signal,
    timeoutMs: hook.timeout,
    onLine: (line, stream) => run.emit({ type: 'log', artifact: run.artifact, stage: 'hook', hook: name, stream, line }),
  });
  if (outcome.ok) return undefined;
  const who = label(name, run);
  const outputTail = outcome.tail;
  switch (outcome.kind) {
    case 'timeout':
      throw new CommandFailedError('HOOK_TIMEOUT', `${who} timed out after ${seconds(hook.timeout)} (stopped): ${outcome.shown}`, {
        hint: 'raise its `timeout` in devloop.yaml, or make the command finish sooner',
        outputTail,
      });
    case 'not-found':
    case 'spawn':
      throw new CommandFailedError('HOOK_FAILED', `${who}: command "${outcome.program}" ${outcome.kind === 'not-found' ? 'not found' : `could not start (${outcome.spawnErrorCode})`}`, {
        hint: `install it or fix the hook's command in devloop.yaml (it runs in ${run.cwd})`,
        outputTail,
      });
    default:
      throw new CommandFailedError('HOOK_FAILED', `${who} failed with exit code ${outcome.exitCode}${outcome.last ? `: ${outcome.last}` : ''}`, {
        hint: outputTail.length ? 'its output is above (log events of stage hook)' : `it printed nothing; run \`${outcome.shown}\` in ${run.cwd}`,
        outputTail,
      });
  }
}

/**
 * Container hook: the command in every running container of the artifact (this session's pods
 * running its current image; before the first build, any of its images). Returns a skip reason when
 * no container runs it (e.g. a before-build hook on the very first build).
 */
async function inContainers(hook: HookConfig, name: string, run: HookRun): Promise<string | undefined> {
  const image = hook.artifact ?? run.artifact;
  const who = label(name, run);
  if (!image) throw new DevloopError('HOOK_NO_ARTIFACT', `${who} runs in containers but names no artifact`, { hint: 'set `artifact:` on the hook (the image name of a build artifact)' });
  if (!run.cluster) throw new DevloopError('HOOK_NO_CLUSTER', `${who} runs in containers, which needs a cluster here`, { hint: 'run it with `devloop run` or `devloop dev`' });
  const cluster = await run.cluster();
  const build = cluster.builds.find((b) => b.image === image);
  const known = cluster.buildConfig.artifacts.map((a) => a.image);
  if (!known.includes(image)) throw new DevloopError('HOOK_NO_ARTIFACT', `${who}: no artifact "${image}"`, { hint: `artifacts: ${known.join(', ') || 'none'}` });
  const repo = build?.repo ?? imageRepository(cluster.buildConfig.defaultRepo, image);
  const { runningContainers } = await import('../sync/index.js');
  const { execInContainer } = await import('../sync/exec.js');
  const targets = await runningContainers(cluster.kube, cluster.namespaces, cluster.labelSelector, (ref) =>
    build ? sameImage(ref, build) : isTaggedReferenceTo(ref, repo),
  );
  if (targets.length === 0) return `no running container of ${image}`;
  const argv = typeof hook.command === 'string' ? ['sh', '-c', hook.command] : hook.command;
  await Promise.all(
    targets.map(async (target) => {
      const where = `${target.pod}/${target.container}`;
      let result;
      try {
        result = await execInContainer(cluster.kube, target, argv, {
          timeoutMs: hook.timeout,
          signal: run.signal,
          onLine: (line, stream) => run.emit({ type: 'log', artifact: run.artifact ?? image, stage: 'hook', hook: name, stream, line: `[${where}] ${line}` }),
        });
      } catch (error) {
        if (run.signal.aborted) throw abortError(run.signal);
        const failure = toDevloopError(error);
        if (/no answer within/.test(failure.message)) {
          throw new DevloopError('HOOK_TIMEOUT', `${who} timed out after ${seconds(hook.timeout)} in ${where}`, { hint: 'raise its `timeout` in devloop.yaml, or make the command finish sooner' });
        }
        throw new DevloopError('HOOK_FAILED', `${who} could not run in ${where}: ${failure.message}`, { hint: failure.hint });
      }
      // A last line without a newline was not streamed.
      for (const [stream, text] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
        const rest = text.slice(text.lastIndexOf('\n') + 1);
        if (rest) run.emit({ type: 'log', artifact: run.artifact ?? image, stage: 'hook', hook: name, stream, line: `[${where}] ${rest}` });
      }
      const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
      if (result.notFound) {
        throw new DevloopError('HOOK_FAILED', `${who}: \`${result.missing ?? argv[0]}\` not found in ${where}`, { hint: 'the container image must contain the command (and sh for a command string)' });
      }
      if (result.exitCode !== 0) {
        const last = [...lines].reverse()[0] ?? result.message;
        throw new DevloopError('HOOK_FAILED', `${who} failed with exit code ${result.exitCode} in ${where}${last ? `: ${firstLine(last)}` : ''}`, {
          hint: 'its output is above (log events of stage hook)',
        });
      }
    }),
  );
  return undefined;
}
