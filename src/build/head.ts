/**
 * The cache check "is the manifest still in the registry at the recorded digest?" on the no-op
 * path (the registry client's HEAD: credentials are looked up only if the registry answers 401),
 * and the registry ping before `docker push`.
 */
import { request } from 'node:http';
import type { RegistrySettings } from './types.js';
import { parseImageReference, registryBaseUrl } from '../registry/reference.js';

/** Manifest digest of `repo:tag`, or undefined when absent or the registry cannot say. */
export async function registryManifestDigest(repo: string, tag: string, settings: RegistrySettings, signal: AbortSignal): Promise<string | undefined> {
  try {
    const { RegistryClient } = await import('../registry/client.js');
    const client = RegistryClient.forRepository(repo, settings, { retries: 0, requestTimeoutMs: 5_000, signal });
    return await client.manifestDigest(tag);
  } catch {
    return undefined; // unreachable now, or not a valid name: the push that follows reports it properly
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
