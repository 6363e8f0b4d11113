/**
 * The one owner of image references: every parse, split, registry-host lookup and "same image"
 * comparison in devloop goes through here, so docker's normalisation rules live in one place.
 */
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

/** A reference split as written, without validation or defaults: `repository` keeps its host. */
export interface ReferenceParts {
  repository: string;
  tag?: string;
  digest?: string;
}

/** The registry an image without a host is pulled from, as people write it. */
const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

/** One path component of a repository name (OCI distribution grammar). */
export const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A registry host: DNS name or localhost, optional port. */
export const REGISTRY_HOST = /^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$/;

/**
 * The registry host a reference names, or undefined (Docker Hub). Docker's rule: the first path
 * component is a host when it contains "." or ":" or is "localhost" ("[…]" is an IPv6 literal).
 */
export function namedRegistry(reference: string): string | undefined {
  const slash = reference.indexOf('/');
  if (slash < 0) return undefined;
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') ? first : undefined;
}

/** Docker Hub under any of its names (as written, the legacy index, or the API host). */
export function isDockerHub(registry: string): boolean {
  return registry === DOCKER_HUB || registry === 'index.docker.io' || registry === DOCKER_HUB_API;
}

export function hasRegistryHost(reference: string): boolean {
  return namedRegistry(reference) !== undefined;
}

/** The registry host for messages: as written, or "docker.io" when the reference names none. */
export function registryOf(reference: string): string {
  return namedRegistry(reference) ?? DOCKER_HUB;
}

/**
 * Splits `repository[:tag][@digest]` as written (the tag is after the last ":" of the last path
 * component, so a host port is never a tag). No validation, no defaults: for matching references
 * found in manifests and pods.
 */
export function splitImageReference(reference: string): ReferenceParts {
  const at = reference.indexOf('@');
  const digest = at >= 0 ? reference.slice(at + 1) : undefined;
  const named = at >= 0 ? reference.slice(0, at) : reference;
  const colon = named.lastIndexOf(':');
  if (colon <= named.lastIndexOf('/')) return { repository: named, digest };
  return { repository: named.slice(0, colon), tag: named.slice(colon + 1), digest };
}

/** A repository name without tag or digest, optionally with a registry host: `hello`, `127.0.0.1:5000/team/hello`. */
export function isRepositoryName(name: string): boolean {
  const parts = name.split('/');
  const host = namedRegistry(name);
  if (host !== undefined) {
    if (!REGISTRY_HOST.test(host)) return false;
    parts.shift();
  }
  return parts.length > 0 && parts.every((component) => PATH_COMPONENT.test(component));
}

/** What a built image is known by: its repository, tag, registry digest (when pushed) and full ref. */
export interface BuiltImageReference {
  repo: string;
  tag: string;
  digest?: string;
  ref: string;
}

/** Whether an image reference (e.g. a pod's) is the build's: by digest when both have one, else repo + tag. */
export function sameImage(image: string, build: BuiltImageReference): boolean {
  if (image === build.ref) return true;
  const parts = splitImageReference(image);
  if (parts.repository !== build.repo) return false;
  if (parts.digest && build.digest) return parts.digest === build.digest;
  return parts.tag !== undefined && parts.tag === build.tag;
}

/** `ref` names `repo` with an explicit tag or digest (what devloop deploys), for when no build says which. */
export function isTaggedReferenceTo(ref: string, repo: string): boolean {
  const parts = splitImageReference(ref);
  return parts.repository === repo && (parts.tag !== undefined || parts.digest !== undefined);
}

/**
 * Parses and validates a reference the way docker normalises it: Docker Hub names get the
 * registry API host and "library/", a reference with neither tag nor digest gets "latest".
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
  const host = namedRegistry(rest);
  let registry: string;
  let path: string;
  if (host !== undefined) {
    registry = host;
    path = rest.slice(host.length + 1);
  } else {
    registry = DOCKER_HUB_API;
    path = rest.includes('/') ? rest : `library/${rest}`;
  }
  // Only the names people write get "library/" (docker does the same); the API host is taken as is.
  if (registry === DOCKER_HUB || registry === 'index.docker.io') {
    registry = DOCKER_HUB_API;
    if (!path.includes('/')) path = `library/${path}`;
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (!path || !path.split('/').every((component) => PATH_COMPONENT.test(component))) {
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

function hostWithoutPort(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

export function registryBaseUrl(registry: string, insecureRegistries: readonly string[]): string {
  const plain = isLoopbackHost(registry) || insecureRegistries.includes(registry) || insecureRegistries.includes(hostWithoutPort(registry));
  return `${plain ? 'http' : 'https'}://${registry}`;
}
