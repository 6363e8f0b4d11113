/**
 * The Docker CLI builder: `docker build` (BuildKit through `docker buildx` when it is installed,
 * the classic builder otherwise) and `docker push` with bounded retries.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { ImageBuilder, ImageBuildRequest } from '../types.js';
import type { Emit } from '../../events/bus.js';
import type { StageName } from '../../events/types.js';
import { ConfigError, DevloopError } from '../../errors.js';
import { resolveInside } from '../../util/inside.js';
import type { ArtifactConfig } from '../../config/types.js';
import { abortError, CommandFailedError } from '../../compile/index.js';
import { displayCommand, runStreaming, type StreamingResult } from '../../util/process.js';
import { pingRegistry } from '../head.js';
import { registryOf } from '../../registry/reference.js';
import { classifyDockerFailure, meaningfulLines, parsePullFailure, parsePushDigest, type DockerFailure, type PullFailure } from './output.js';

export interface DockerBuilderOptions {
  /** Extra environment for every docker command (e.g. from `minikube docker-env`). */
  env?: Record<string, string>;
  /** Push attempts (default 3) and the first backoff delay (default 1 s, doubling). */
  pushAttempts?: number;
  pushRetryDelayMs?: number;
}

export interface DockerBuildOutcome {
  digest?: string;
  /** Local image ID (sha256:…), for checking a cached local image is still there. */
  imageId?: string;
}

export interface DockerImageBuilder extends ImageBuilder {
  readonly kind: 'docker';
  build(request: ImageBuildRequest): Promise<DockerBuildOutcome>;
  /** Pushes an image that is already in the local daemon; returns the registry digest. */
  push(request: Pick<ImageBuildRequest, 'artifact' | 'repo' | 'tag' | 'emit' | 'signal'> & { registry?: ImageBuildRequest['registry'] }): Promise<string>;
  /** ID of a local image, or undefined when the daemon does not have it. */
  localImageId(ref: string, signal?: AbortSignal): Promise<string | undefined>;
}

let buildxProbe: Promise<boolean> | undefined;
/** Whether `docker buildx` exists (probed once per process, only when something is built). */
function buildxAvailable(env: Record<string, string> | undefined): Promise<boolean> {
  buildxProbe ??= runStreaming({ file: 'docker', args: ['buildx', 'version'], env, timeoutMs: 10_000 }).then((r) => r.exitCode === 0);
  return buildxProbe;
}

/** The `docker build` argv (without `docker`). */
export function dockerBuildArgs(request: Pick<ImageBuildRequest, 'artifact' | 'repo' | 'tag' | 'platforms'>, options: { buildkit: boolean; iidFile: string }): string[] {
  const { artifact } = request;
  const docker = artifact.docker!;
  const args = options.buildkit ? ['buildx', 'build', '--load', '--progress=plain'] : ['build'];
  args.push('--file', resolve(artifact.context, docker.dockerfile), '--tag', `${request.repo}:${request.tag}`, '--iidfile', options.iidFile);
  for (const [key, value] of Object.entries(docker.buildArgs).sort(([a], [b]) => (a < b ? -1 : 1))) args.push('--build-arg', `${key}=${value}`);
  if (docker.target) args.push('--target', docker.target);
  // The cluster's platform, not the laptop's (one: `--load` cannot hold a multi-platform image).
  if (request.platforms?.length === 1) args.push('--platform', request.platforms[0]!);
  args.push(artifact.context);
  return args;
}

/**
 * The Dockerfile must really lie (links resolved) inside the artifact context or the project folder
 * (the one holding devloop.yaml, for Skaffold's `dockerfile: ../Dockerfile`). Anything else is refused
 * before docker reads it: docker's parse errors quote the file's lines, which must never show an
 * arbitrary file such as a key outside the project.
 */
export async function checkDockerfile(artifact: ArtifactConfig, projectDir: string): Promise<void> {
  const written = artifact.docker!.dockerfile;
  const dockerfile = resolve(artifact.context, written);
  const inContext = await resolveInside(artifact.context, dockerfile);
  if (inContext.ok) return;
  const inProject = await resolveInside(projectDir, dockerfile);
  if (inProject.ok) return;
  if (inContext.reason === 'missing' || inProject.reason === 'missing') {
    throw new DevloopError('DOCKERFILE_MISSING', `${artifact.image}: Dockerfile not found: ${relative(process.cwd(), dockerfile) || dockerfile}`, {
      hint: 'create it, or set docker.dockerfile (relative to the artifact context) in devloop.yaml',
    });
  }
  const link = inContext.reason === 'link' || inContext.reason === 'broken' ? inContext : inProject.reason === 'link' || inProject.reason === 'broken' ? inProject : undefined;
  const through = link ? ` (through the symlink "${link.link}")` : '';
  throw new ConfigError('DOCKERFILE_OUTSIDE', `${artifact.image}: docker.dockerfile "${written}" is outside the build context and the project folder${through}`, {
    hint: 'put the Dockerfile in the artifact context or next to devloop.yaml',
  });
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((done) => {
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
    function finish(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
  });

export function createDockerBuilder(options: DockerBuilderOptions = {}): DockerImageBuilder {
  const env = options.env;
  const attempts = Math.max(1, options.pushAttempts ?? 3);
  const firstDelay = options.pushRetryDelayMs ?? 1_000;

  async function run(image: string, stage: StageName, args: string[], emit: Emit, signal: AbortSignal, onLine?: (line: string) => void): Promise<StreamingResult> {
    const result = await runStreaming({
      file: 'docker',
      args,
      cwd: process.cwd(),
      env,
      signal,
      onLine: (line, stream) => {
        emit({ type: 'log', artifact: image, stage, stream, line });
        onLine?.(line);
      },
    });
    if (result.canceled) throw abortError(signal);
    if (result.spawnErrorCode === 'ENOENT') {
      throw new DevloopError('DOCKER_NOT_FOUND', `${image}: the docker CLI is not on PATH`, {
        hint: 'install Docker, or build this artifact with the daemonless `oci` builder',
      });
    }
    return result;
  }

  function failure(image: string, what: string, argv: string[], result: StreamingResult, kind: DockerFailure, repo: string): DevloopError {
    const last = meaningfulLines(result.tail).at(-1) ?? '';
    const host = registryOf(repo);
    switch (kind) {
      case 'daemon':
        return new DevloopError('DOCKER_UNAVAILABLE', `${image}: cannot connect to the Docker daemon (\`docker ${argv[0]}\`)`, {
          hint: 'start dockerd (e.g. `sudo systemctl start docker`), or check DOCKER_HOST',
        });
      case 'unreachable':
        return new DevloopError('REGISTRY_UNREACHABLE', `${image}: registry ${host} is unreachable while pushing ${repo}: ${last}`, {
          hint: 'is the registry running? check build.defaultRepo or --default-repo',
        });
      case 'server':
        return new DevloopError('REGISTRY_SERVER_ERROR', `${image}: registry ${host} failed while pushing ${repo} (${attempts} attempts): ${last}`, {
          hint: 'the registry answered with a server error; check its logs and try again',
        });
      case 'auth':
        return new DevloopError('REGISTRY_AUTH', `${image}: registry ${host} refused the push of ${repo}: ${last}`, {
          hint: `log in with \`docker login ${host}\`, or check that the repository exists and you may push to it`,
        });
      case 'https':
        return new DevloopError('REGISTRY_INSECURE', `${image}: registry ${host} speaks plain HTTP but Docker expected HTTPS`, {
          hint: `add "${host}" to dockerd's insecure-registries (daemon.json) and to build.insecureRegistries`,
        });
      default:
        return new CommandFailedError(what === 'build' ? 'DOCKER_BUILD_FAILED' : 'DOCKER_PUSH_FAILED', `${image}: \`docker ${displayCommand(argv.slice(0, 1))}\` failed with exit code ${result.exitCode}${last ? `: ${last}` : ''}`, {
          hint: `the last output lines are above (log events of stage ${what})`,
          outputTail: result.tail,
        });
    }
  }

  /**
   * A failed `docker build`: the daemon is down, an image the Dockerfile names could not be pulled
   * (named with the host that failed: never the push registry), or the build itself failed.
   */
  function buildFailure(image: string, argv: string[], result: StreamingResult, buildArgs: Record<string, string>): DevloopError {
    if (classifyDockerFailure(result.tail) === 'daemon') return failure(image, 'build', argv, result, 'daemon', '');
    const pull = parsePullFailure(result.tail, buildArgs);
    if (pull) return pullFailure(image, pull);
    return failure(image, 'build', argv, result, 'other', '');
  }

  async function pushOnce(request: Pick<ImageBuildRequest, 'artifact' | 'repo' | 'tag' | 'emit' | 'signal'>): Promise<{ result: StreamingResult; digest?: string; pushed: number; existed: number; daemonRetried: boolean }> {
    const { artifact, emit } = request;
    let pushed = 0;
    let existed = 0;
    let daemonRetried = false;
    const result = await run(artifact.image, 'push', ['push', `${request.repo}:${request.tag}`], emit, request.signal, (line) => {
      if (/: Retrying in \d+ seconds?$/.test(line)) daemonRetried = true;
      const layer = /^([0-9a-f]{12}): (Pushed|Layer already exists|Mounted from .*)$/.exec(line.trim());
      if (!layer) return;
      if (layer[2] === 'Pushed') pushed += 1;
      else existed += 1;
      emit({ type: 'progress', stage: 'push', artifact: artifact.image, message: `layer ${layer[1]}: ${layer[2]!.toLowerCase()}` });
    });
    return { result, digest: parsePushDigest(result.stdout), pushed, existed, daemonRetried };
  }

  const builder: DockerImageBuilder = {
    kind: 'docker',

    async build(request) {
      const { artifact, emit, signal } = request;
      if (!artifact.docker) throw new DevloopError('INTERNAL', `${artifact.image}: the docker builder got an artifact without docker settings`);
      await checkDockerfile(artifact, request.projectDir);
      const scratch = await mkdtemp(join(tmpdir(), 'devloop-build-'));
      let imageId: string | undefined;
      try {
        await stage(emit, 'build', artifact.image, async () => {
          const args = dockerBuildArgs(request, { buildkit: await buildxAvailable(env), iidFile: join(scratch, 'iid') });
          const result = await run(artifact.image, 'build', args, emit, signal);
          if (result.exitCode !== 0) throw buildFailure(artifact.image, args, result, artifact.docker?.buildArgs ?? {});
          imageId = (await readFile(join(scratch, 'iid'), 'utf8').catch(() => '')).trim() || undefined;
          return undefined;
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      if (!request.push) return { imageId };
      const digest = await builder.push(request);
      return { digest, imageId };
    },

    async push(request) {
      const { artifact, emit, signal } = request;
      return stage(emit, 'push', artifact.image, async () => {
        for (let attempt = 1; ; attempt++) {
          const retry = async (message: string): Promise<void> => {
            const delay = firstDelay * 2 ** (attempt - 1);
            emit({ type: 'notice', level: 'warn', message: `${artifact.image}: ${message} (attempt ${attempt} of ${attempts}), retrying in ${(delay / 1000).toFixed(1)}s` });
            await sleep(delay, signal);
            if (signal.aborted) throw abortError(signal);
          };
          const ping = await pingRegistry(request.repo, request.registry ?? { insecureRegistries: [] }, signal);
          if (signal.aborted) throw abortError(signal);
          if (ping.kind !== 'ok') {
            const host = registryOf(request.repo);
            if (attempt < attempts) {
              await retry(ping.kind === 'server' ? `registry ${host} answered ${ping.status}` : `registry ${host} is unreachable (${ping.reason})`);
              continue;
            }
            throw ping.kind === 'server'
              ? new DevloopError('REGISTRY_SERVER_ERROR', `${artifact.image}: registry ${host} answered HTTP ${ping.status} to every attempt (${attempts}) to push ${request.repo}`, {
                  hint: 'the registry is failing; check its logs and try again',
                })
              : new DevloopError('REGISTRY_UNREACHABLE', `${artifact.image}: registry ${host} is unreachable (${ping.reason}) after ${attempts} attempts to push ${request.repo}`, {
                  hint: 'is the registry running? check build.defaultRepo or --default-repo',
                });
          }
          const { result, digest, pushed, existed, daemonRetried } = await pushOnce(request);
          if (result.exitCode === 0) {
            if (!digest) {
              throw new DevloopError('DOCKER_PUSH_NO_DIGEST', `${artifact.image}: \`docker push ${request.repo}:${request.tag}\` printed no digest`, {
                hint: 'this Docker version prints an unexpected format; please report it',
              });
            }
            return { value: digest, detail: `${pushed} layers pushed, ${existed} already there` };
          }
          const kind = classifyDockerFailure(result.tail);
          // The daemon already retried each layer for about a minute: another round would only make the user wait.
          const retryable = !daemonRetried && (kind === 'unreachable' || kind === 'server');
          if (!retryable || attempt >= attempts) throw failure(artifact.image, 'push', ['push'], result, kind, request.repo);
          await retry('push failed');
        }
      });
    },

    async localImageId(ref, signal) {
      const result = await runStreaming({ file: 'docker', args: ['image', 'inspect', '--format', '{{.Id}}', ref], env, signal, timeoutMs: 20_000 });
      return result.exitCode === 0 ? result.stdout.join('\n').trim() || undefined : undefined;
    },
  };
  return builder;
}

/** The image build could not pull `pull.image`: say so, with the host that failed and why. */
function pullFailure(image: string, pull: PullFailure): DevloopError {
  const what = `${image}: cannot pull base image ${pull.image}`;
  const fromLine = 'check the FROM (or COPY --from) line of the Dockerfile and the build args it uses';
  switch (pull.problem) {
    case 'not-found':
      return new DevloopError('BASE_IMAGE_NOT_FOUND', `${what}: registry ${pull.host} does not have it`, {
        hint: `${fromLine}, or push that image to ${pull.host} first`,
      });
    case 'denied':
      return new DevloopError('BASE_IMAGE_AUTH', `${what}: registry ${pull.host} refused it (${pull.detail.includes('does not exist') ? 'no such repository, or it needs credentials' : 'credentials missing or not allowed'})`, {
        hint: `${fromLine}; for a private image run \`docker login ${pull.host}\``,
      });
    case 'unreachable':
      return new DevloopError('BASE_IMAGE_UNREACHABLE', `${what}: registry ${pull.host} is unreachable (${pull.reason})`, {
        hint: `is ${pull.host} up and reachable from dockerd? ${fromLine}`,
      });
    case 'https':
      return new DevloopError('BASE_IMAGE_INSECURE', `${what}: registry ${pull.host} speaks plain HTTP but Docker expected HTTPS`, {
        hint: `add "${pull.host}" to dockerd's insecure-registries (daemon.json)`,
      });
    default:
      return new DevloopError('BASE_IMAGE_PULL_FAILED', `${what} from ${pull.host}: ${pull.detail}`, { hint: fromLine });
  }
}

/** Like timedStage, but the work may add a `detail` to the end event. */
async function stage<T>(
  emit: Emit,
  name: StageName,
  artifact: string,
  work: () => Promise<T | { value: T; detail: string }>,
): Promise<T> {
  const started = performance.now();
  emit({ type: 'stage', stage: name, artifact, status: 'start' });
  try {
    const outcome = await work();
    const detailed = outcome !== null && typeof outcome === 'object' && 'detail' in outcome && 'value' in outcome;
    emit({
      type: 'stage',
      stage: name,
      artifact,
      status: 'end',
      durationMs: Math.round(performance.now() - started),
      detail: detailed ? (outcome as { detail: string }).detail : undefined,
    });
    return detailed ? (outcome as { value: T }).value : (outcome as T);
  } catch (error) {
    if (error instanceof DevloopError) error.stage ??= name;
    emit({ type: 'stage', stage: name, artifact, status: 'error', durationMs: Math.round(performance.now() - started) });
    throw error;
  }
}

export const dockerBuilder: DockerImageBuilder = createDockerBuilder();
