/**
 * `devloop diagnose`: what devloop would use (effective config, profiles, kube context) and whether
 * what it needs answers (Docker, registries), plus per-artifact input counts and hashing time.
 * Unreachable dependencies are the report, not a failure: exit 0 unless the config is bad.
 */
import type { CommandContext } from '../context.js';
import type { ArtifactConfig, DevloopConfig } from '../../config/types.js';
import type { DiagnoseEvent } from '../../events/types.js';
import { namedRegistry } from '../../registry/reference.js';
import { firstLine } from '../../errors.js';

const DOCKER_TIMEOUT_MS = 5000;
const REGISTRY_TIMEOUT_MS = 2000;

export async function diagnose(ctx: CommandContext): Promise<number | void> {
  const loaded = await ctx.loadConfig('diagnose');
  const { config } = loaded;
  const [kube, docker, registries, artifacts] = await Promise.all([
    checkKube(config),
    checkDocker(ctx.signal),
    Promise.all(registryHosts(config).map((host) => checkRegistry(host, config.build.insecureRegistries, ctx.signal))),
    hashArtifacts(config.build.artifacts),
  ]);
  ctx.emit({ type: 'diagnose', configFile: loaded.file, activeProfiles: loaded.activeProfiles, config, ...kube, docker, registries, artifacts });
  return 0;
}

/** defaultRepo's host and every registry host named in artifact images, each once. */
function registryHosts(config: DevloopConfig): string[] {
  const hosts = [namedRegistry(`${config.build.defaultRepo}/x`), ...config.build.artifacts.map((a) => namedRegistry(a.image))];
  return [...new Set(hosts.filter((h): h is string => Boolean(h)))];
}

async function checkKube(config: DevloopConfig): Promise<Pick<DiagnoseEvent, 'kube' | 'kubeError'>> {
  try {
    const { kubeClientForConfig } = await import('../../kube/client.js');
    // Without any kubeconfig this throws KUBECONFIG_MISSING (kube/client.ts), reported as kubeError.
    const client = await kubeClientForConfig(config);
    return { kube: { context: client.contextName, server: client.server, namespace: client.namespace } };
  } catch (error) {
    return { kube: null, kubeError: firstLine((error as Error).message) };
  }
}

async function checkDocker(signal: AbortSignal): Promise<DiagnoseEvent['docker']> {
  const { runStreaming } = await import('../../util/process.js');
  try {
    const result = await runStreaming({ file: 'docker', args: ['version', '--format', '{{.Server.Version}}'], timeoutMs: DOCKER_TIMEOUT_MS, signal });
    const stdout = result.stdout.join('\n').trim();
    if (result.exitCode === 0 && stdout) return { ok: true, version: stdout };
    if (result.spawnErrorCode === 'ENOENT') return { ok: false, error: 'the docker CLI is not installed' };
    if (result.timedOut) return { ok: false, error: `no answer within ${DOCKER_TIMEOUT_MS / 1000}s` };
    return { ok: false, error: firstLine(result.stderr.join('\n') || stdout || `exit code ${result.exitCode}`) };
  } catch (error) {
    return { ok: false, error: firstLine((error as Error).message) };
  }
}

/** The registry ping the builds use (build/head.ts); 200 (open) or 401 (wants auth) both mean a registry answers. */
async function checkRegistry(host: string, insecureRegistries: string[], signal: AbortSignal): Promise<DiagnoseEvent['registries'][number]> {
  const { pingRegistry } = await import('../../build/head.js');
  const answer = await pingRegistry(`${host}/x`, { insecureRegistries }, signal, REGISTRY_TIMEOUT_MS);
  if (answer.kind === 'unreachable') return { host, ok: false, error: answer.reason };
  const ok = answer.status === 200 || answer.status === 401;
  return ok ? { host, ok, status: answer.status } : { host, ok, status: answer.status, error: `HTTP ${answer.status} from /v2/` };
}

/** One artifact at a time, so each timing is that artifact's alone. */
async function hashArtifacts(artifacts: ArtifactConfig[]): Promise<DiagnoseEvent['artifacts']> {
  const { listArtifactInputs, artifactInputDigest } = await import('../../inputs/index.js');
  const out: DiagnoseEvent['artifacts'] = [];
  for (const artifact of artifacts) {
    const base = { image: artifact.image, builder: artifact.oci ? ('oci' as const) : artifact.custom ? ('custom' as const) : ('docker' as const), context: artifact.context };
    const started = performance.now();
    try {
      const files = await listArtifactInputs(artifact);
      const digest = await artifactInputDigest(artifact, files);
      out.push({ ...base, inputFiles: files.length, hashMs: Math.round(performance.now() - started), digest });
    } catch (error) {
      out.push({ ...base, error: firstLine((error as Error).message) });
    }
  }
  return out;
}
