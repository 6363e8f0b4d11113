/**
 * `devloop dev` only: the containers running an image that is live-updated get devloop's supervisor
 * as their command (see sync/supervisor.ts), with the original command as its arguments. Pure;
 * mutates the object it is given. `devloop run`, `deploy` and `render` never pass images here.
 */
import { supervisedCommand } from '../sync/supervisor.js';
import { podSpecsOf } from './images.js';
import type { KubeObject } from './types.js';

/** An image whose containers are supervised, with what the image itself would run. */
export interface SupervisedImage {
  /** The built reference, as written into the manifests by image rewriting. */
  ref: string;
  /** The image config's Entrypoint and Cmd. */
  entrypoint: readonly string[];
  cmd: readonly string[];
}

/** Wraps the (regular) containers running a supervised image; returns the names of those wrapped. */
export function superviseContainers(object: KubeObject, images: readonly SupervisedImage[]): string[] {
  const wrapped: string[] = [];
  for (const podSpec of podSpecsOf(object)) {
    const containers = podSpec.containers;
    if (!Array.isArray(containers)) continue;
    for (const container of containers as Record<string, unknown>[]) {
      const image = images.find((i) => i.ref === container.image);
      if (!image || typeof container.name !== 'string') continue;
      const argv = originalCommand(container, image);
      if (argv.length === 0) continue; // nothing to run: the container fails as it would anyway
      container.command = supervisedCommand(container.name, argv);
      delete container.args;
      wrapped.push(container.name);
    }
  }
  return wrapped;
}

/** What the kubelet would run: `command` replaces the Entrypoint (and drops Cmd), `args` replaces Cmd. */
export function originalCommand(container: Record<string, unknown>, image: SupervisedImage): string[] {
  const strings = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.map(String) : undefined);
  const command = strings(container.command);
  const args = strings(container.args);
  if (command && command.length > 0) return [...command, ...(args ?? [])];
  return [...image.entrypoint, ...(args ?? image.cmd)];
}
