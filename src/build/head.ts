/**
 * The cache check "is the manifest still in the registry at the recorded digest?" on the no-op
 * path. For plain-HTTP registries an anonymous HEAD over node:http answers it without loading
 * fetch/undici or credential helpers; anything else (HTTPS, 401, odd answers) goes through the
 * full RegistryClient.
 */
import { request } from 'node:http';
import type { RegistrySettings } from './types.js';
import { parseImageReference, registryBaseUrl } from '../registry/reference.js';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

type Answer = { status: number; digest?: string } | undefined;

function plainHead(url: string, signal: AbortSignal, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'HEAD', headers: { accept: MANIFEST_TYPES }, signal, timeout: timeoutMs }, (res) => {
      res.resume();
      const digest = res.headers['docker-content-digest'];
      resolve({ status: res.statusCode ?? 0, digest: typeof digest === 'string' ? digest : undefined });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Manifest digest of `repo:tag`, or undefined when absent or the registry cannot say. */
export async function registryManifestDigest(repo: string, tag: string, settings: RegistrySettings, signal: AbortSignal): Promise<string | undefined> {
  let parsed;
  try {
    parsed = parseImageReference(repo);
  } catch {
    return undefined;
  }
  const base = registryBaseUrl(parsed.registry, settings.insecureRegistries);
  if (base.startsWith('http:')) {
    const answer = await plainHead(`${base}/v2/${parsed.repository}/manifests/${encodeURIComponent(tag)}`, signal, 5_000);
    if (!answer || answer.status === 404) return undefined;
    if (answer.status === 200 && answer.digest) return answer.digest;
  }
  try {
    const { RegistryClient } = await import('../registry/client.js');
    const client = RegistryClient.forRepository(repo, settings, { retries: 0, requestTimeoutMs: 5_000, signal });
    return await client.manifestDigest(tag);
  } catch {
    return undefined; // unreachable now: the push that follows reports it properly
  }
}

export type PingAnswer = { kind: 'ok'; status: number } | { kind: 'unreachable'; reason: string } | { kind: 'server'; status: number };

/**
 * GET /v2/ before `docker push`: the daemon itself retries a failing upload for about a minute, so
 * an unreachable or failing (5xx) registry is found here, quickly, and retried on our own terms.
 * 200 and 401 both mean "a registry answers".
 */
export async function pingRegistry(repo: string, settings: RegistrySettings, signal: AbortSignal, timeoutMs = 10_000): Promise<PingAnswer> {
  let base: string;
  try {
    base = registryBaseUrl(parseImageReference(repo).registry, settings.insecureRegistries);
  } catch {
    return { kind: 'ok', status: 0 }; // not ours to judge: docker push reports it
  }
  const { request: send } = base.startsWith('https:') ? await import('node:https') : { request };
  return new Promise((resolve) => {
    const req = send(`${base}/v2/`, { method: 'GET', signal, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 500 ? { kind: 'server', status } : { kind: 'ok', status });
    });
    // `timeout` is idle time; the whole exchange is bounded too, so a trickling server cannot hold it.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'unreachable', reason: error.code ?? error.message }));
    req.end();
  });
}
