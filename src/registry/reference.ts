import { DevloopError } from '../errors.js';

/** A parsed image reference: `host[:port]/path[:tag][@sha256:…]`. */
export interface ImageReference {
  /** Registry host as written (docker.io is normalised to the real API host). */
  registry: string;
  /** Repository path inside the registry, e.g. "hello" or "library/busybox". */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB_API = 'registry-1.docker.io';

/**
 * Splits an image reference the way docker does: the first path component is a registry host
 * when it contains "." or ":" or is "localhost"; otherwise the image is on Docker Hub.
 */
export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw new DevloopError('IMAGE_REFERENCE', `invalid digest in image reference "${reference}"`, {
        hint: 'a digest looks like sha256: followed by 64 hex digits',
      });
    }
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let registry: string;
  let path: string;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = first;
    path = rest.slice(slash + 1);
  } else {
    registry = DOCKER_HUB_API;
    path = rest.includes('/') ? rest : `library/${rest}`;
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') {
    registry = DOCKER_HUB_API;
    if (!path.includes('/')) path = `library/${path}`;
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (!path || !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) {
    throw new DevloopError('IMAGE_REFERENCE', `invalid repository name in image reference "${reference}"`, {
      hint: 'repository names are lowercase letters, digits and separators (. _ - /)',
    });
  }
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) {
    throw new DevloopError('IMAGE_REFERENCE', `invalid tag in image reference "${reference}"`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: path, tag, digest };
}

/** `host/repo` without tag or digest. */
export function repositoryName(reference: ImageReference): string {
  return `${reference.registry}/${reference.repository}`;
}

/** Loopback hosts are always reached over plain HTTP (dockerd does the same for 127.0.0.0/8). */
export function isLoopbackHost(registry: string): boolean {
  const host = hostWithoutPort(registry);
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function hostWithoutPort(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

export function registryBaseUrl(registry: string, insecureRegistries: readonly string[]): string {
  const plain = isLoopbackHost(registry) || insecureRegistries.includes(registry) || insecureRegistries.includes(hostWithoutPort(registry));
  return `${plain ? 'http' : 'https'}://${registry}`;
}
