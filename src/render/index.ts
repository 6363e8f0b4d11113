/**
 * Render: the config's manifests with artifact images replaced by the built references and
 * devloop's labels added. `renderObjects` and `toYaml` are pure; `renderManifests` reads the files.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { ImagePathRule, LoadedConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { DevloopError } from '../errors.js';
import { checkDuplicates } from './duplicates.js';
import { findManifestFiles } from './files.js';
import { renderHelmReleases } from './helm.js';
import { renderKustomizations } from './kustomize.js';
import { rewriteImages } from './images.js';
import { addLabels, devloopLabels } from './labels.js';
import { parseManifests } from './parse.js';
import { superviseContainers, type SupervisedImage } from './supervise.js';
import type { ImageReplacement, KubeObject, ManifestObject } from './types.js';

export type { SupervisedImage } from './supervise.js';
export type { ImageReplacement, KubeObject, ManifestObject, ManifestSource } from './types.js';
export { describeObject, describeSource } from './types.js';
export { labelSelector, devloopLabels, CONFIG_LABEL, MANAGED_BY_LABEL, RUN_ID_LABEL } from './labels.js';

export interface RenderOptions {
  loaded: LoadedConfig;
  /** Built (or planned) references per artifact image. */
  images: readonly ImageReplacement[];
  /** Dev sessions label their objects with their run id. */
  runId?: string;
  /** Where objects without a namespace go (to tell duplicates apart); unknown without a cluster. */
  namespace?: string;
  emit?: Emit;
  /** Stops kustomize / helm. */
  signal?: AbortSignal;
  /** `devloop dev` only: images whose containers run under the live-update supervisor. */
  supervise?: readonly SupervisedImage[];
}

export interface Rendered {
  objects: ManifestObject[];
  /** Every artifact image that no manifest referenced (probably a typo in the manifest or the config). */
  unusedImages: string[];
}

/** Reads the config's manifests and renders them. */
export async function renderManifests(options: RenderOptions): Promise<Rendered> {
  const { loaded } = options;
  const parsed = await readManifests(loaded, { namespace: options.namespace, signal: options.signal, emit: options.emit });
  const rendered = renderObjects(parsed, {
    configName: loaded.config.metadata.name,
    images: options.images,
    imagePaths: loaded.config.render.imagePaths,
    runId: options.runId,
    namespace: options.namespace,
    supervise: options.supervise,
  });
  for (const image of rendered.unusedImages) {
    options.emit?.({
      type: 'notice',
      level: 'warn',
      message: `artifact image "${image}" is not used by any manifest`,
      hint: 'a container image in the manifests must name it (with or without a tag) to be replaced',
    });
  }
  return rendered;
}

/**
 * Parses every manifest file of the config, in the globs' order, then the output of each kustomization
 * and each Helm release (`namespace`: the deploy namespace, for `helm template --namespace`).
 */
export async function readManifests(loaded: LoadedConfig, options: { namespace?: string; signal?: AbortSignal; emit?: Emit } = {}): Promise<ManifestObject[]> {
  const { files, unmatched } = await findManifestFiles(loaded.dir, loaded.config.manifests);
  if (unmatched.length > 0 && files.length === 0 && loaded.config.manifests.length > 0) {
    throw new DevloopError('MANIFESTS_NOT_FOUND', `no manifest file matches ${unmatched.map((g) => `"${g}"`).join(', ')}`, {
      hint: `manifests globs are relative to ${loaded.dir}`,
    });
  }
  const objects: ManifestObject[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(resolve(loaded.dir, file), 'utf8');
    } catch (error) {
      throw new DevloopError('MANIFEST_UNREADABLE', `cannot read manifest ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
    }
    objects.push(...parseManifests(text, file));
  }
  objects.push(...(await renderKustomizations(loaded, options.signal)));
  objects.push(...(await renderHelmReleases(loaded, options.namespace, options.signal, options.emit)));
  return objects;
}

export interface RenderSettings {
  configName: string;
  images: readonly ImageReplacement[];
  imagePaths: readonly ImagePathRule[];
  runId?: string;
  namespace?: string;
  supervise?: readonly SupervisedImage[];
}

/** Pure: copies of `parsed` with images replaced and labels added. */
export function renderObjects(parsed: readonly ManifestObject[], settings: RenderSettings): Rendered {
  checkDuplicates(parsed, settings.namespace);
  const labels = devloopLabels(settings.configName, settings.runId);
  const used = new Set<string>();
  const objects = parsed.map(({ object, source }) => {
    const copy = structuredClone(object);
    for (const image of settings.images) {
      if (rewriteImages(copy, [image], settings.imagePaths) > 0) used.add(image.image);
    }
    if (settings.supervise?.length) superviseContainers(copy, settings.supervise);
    addLabels(copy, labels);
    return { object: copy, source };
  });
  return { objects, unusedImages: settings.images.map((i) => i.image).filter((image) => !used.has(image)) };
}

/** Multi-document YAML, keys in the order written, `---` between documents. */
export function toYaml(objects: readonly KubeObject[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
