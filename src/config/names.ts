/** Name rules shared by validation, `init` and `diagnose`. Pure. */
import { posix } from 'node:path';
import { isRepositoryName, PATH_COMPONENT, REGISTRY_HOST, splitImageReference } from '../registry/reference.js';
import type { Issue } from './validate.js';

/** A repository name without tag or digest, optionally with a registry host: `hello`, `127.0.0.1:5000/team/hello`. */
export function checkImageName(name: string): Issue | undefined {
  const hint = 'lowercase letters, digits and . _ - separators, optionally prefixed by a registry host; no tag (devloop computes it)';
  if (name === '') return { message: 'must not be empty', hint };
  if (name.includes('@') || splitImageReference(name).tag !== undefined) {
    return { message: `image "${name}" must not carry a tag or digest`, hint };
  }
  return isRepositoryName(name) ? undefined : { message: `invalid image name "${name}"`, hint };
}

/** defaultRepo: a registry host with an optional path (`127.0.0.1:5000`, `ghcr.io/team`) or empty. */
export function checkDefaultRepo(repo: string): Issue | undefined {
  if (repo === '') return undefined;
  const hint = 'a registry host with optional path, e.g. 127.0.0.1:5000 or ghcr.io/team';
  const [host, ...rest] = repo.replace(/\/+$/, '').split('/');
  if (!host || !REGISTRY_HOST.test(host)) return { message: `invalid registry "${repo}"`, hint };
  if (rest.some((component) => !PATH_COMPONENT.test(component))) return { message: `invalid repository path in "${repo}"`, hint };
  return undefined;
}

/** DNS-1123 label: what metadata.name must be (it ends up in labels and object names). */
export function checkDnsLabel(name: string): Issue | undefined {
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63) return undefined;
  return { message: `invalid name "${name}"`, hint: 'use at most 63 lowercase letters, digits and -, starting and ending with a letter or digit' };
}

/** Turns any folder name into a DNS-1123 label ("My_App 2" → "my-app-2"). */
export function toDnsLabel(text: string, fallback = 'app'): string {
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  return label || fallback;
}

export function checkForwardResource(resource: string): Issue | undefined {
  if (/^(service|deployment|pod)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(resource)) return undefined;
  return { message: `invalid resource "${resource}"`, hint: 'write service/NAME, deployment/NAME or pod/NAME' };
}

/** A path or glob that must stay inside the artifact context: relative, and no `..` that leaves it. */
export function checkInsideContext(path: string): Issue | undefined {
  const hint = 'write a path or glob relative to the artifact context, e.g. public/**; files outside the context are never read';
  if (path.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(path)) return { message: `must be relative to the artifact context, got "${path}"`, hint };
  const normalized = posix.normalize(path.replace(/\\/g, '/'));
  if (normalized === '..' || normalized.startsWith('../')) return { message: `"${path}" is outside the artifact context`, hint };
  return undefined;
}

/** An absolute container path without `.`/`..` segments (sync writes below it and nowhere else). */
export function checkContainerDir(path: string): Issue | undefined {
  const absolute = checkAbsolutePath(path);
  if (absolute) return absolute;
  if (path.split('/').some((segment) => segment === '..' || segment === '.')) {
    return { message: `must not contain "." or ".." segments, got "${path}"`, hint: `write the resolved path, e.g. ${posix.normalize(path)}` };
  }
  return undefined;
}

export function checkAbsolutePath(path: string): Issue | undefined {
  return path.startsWith('/') ? undefined : { message: `must be an absolute path in the container, got "${path}"`, hint: `e.g. /${path.replace(/^\.?\/*/, '')}` };
}
