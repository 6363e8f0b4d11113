/**
 * The files that rendered manifests are made from, besides the `manifests` globs: what each
 * kustomization resolves (its kustomization file, resources, patches, generators' files, nested bases
 * and components, recursively) and each Helm chart (every file of the chart folder but the archives
 * `helm dependency build` writes, local `file://` dependencies, the configured values files).
 * A change to one of them means re-render and apply, never a build.
 *
 * Reads the files synchronously and never throws: a kustomization that cannot be read or parsed adds
 * itself only, and rendering reports the problem with its file name.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import type { LoadedConfig } from '../config/types.js';
import { MAX_ALIAS_COUNT } from '../config/source.js';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

export interface ManifestInputs {
  /** Absolute paths of single files. */
  files: Set<string>;
  /** Absolute folders whose every file is an input (chart folders), except `excluded` ones. */
  dirs: string[];
}

/** The kustomization file in `dir`, or undefined. */
export function kustomizationFile(dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const file = resolve(dir, name);
    if (isFile(file)) return file;
  }
  return undefined;
}

/**
 * Files a kustomization in `dir` resolves, as absolute paths (the kustomization files included).
 * Remote resources (URLs, git) and inline patches are not files and are left out.
 */
export function kustomizationInputs(dir: string, into: Set<string> = new Set(), visited: Set<string> = new Set()): Set<string> {
  const folder = resolve(dir);
  if (visited.has(folder)) return into;
  visited.add(folder);
  const file = kustomizationFile(folder);
  if (!file) return into;
  into.add(file);
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'), { maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return into;
  }
  if (!isRecord(doc)) return into;

  const reference = (entry: unknown): void => {
    if (typeof entry !== 'string' || entry === '' || entry.includes('\n')) return;
    const path = resolve(folder, entry);
    if (isRemote(entry) && !isFile(path) && !isDirectory(path)) return;
    if (isDirectory(path)) kustomizationInputs(path, into, visited);
    else into.add(path); // also when missing: creating it fixes the render

  };
  const each = (value: unknown, pick: (item: unknown) => unknown = (item) => item): void => {
    if (Array.isArray(value)) for (const item of value) reference(pick(item));
  };
  const pathOf = (item: unknown): unknown => (isRecord(item) ? item.path : item);

  for (const key of ['resources', 'bases', 'components', 'crds', 'configurations', 'generators', 'transformers', 'validators']) each(doc[key]);
  each(doc.patchesStrategicMerge);
  for (const key of ['patches', 'patchesJson6902', 'replacements']) each(doc[key], pathOf);
  if (isRecord(doc.openapi)) reference(doc.openapi.path);
  for (const key of ['configMapGenerator', 'secretGenerator']) {
    const generators = doc[key];
    if (!Array.isArray(generators)) continue;
    for (const generator of generators) {
      if (!isRecord(generator)) continue;
      // `files` entries are `path` or `key=path`.
      each(generator.files, (item) => (typeof item === 'string' ? item.slice(item.indexOf('=') + 1) : item));
      each(generator.envs);
      reference(generator.env);
    }
  }
  return into;
}

/**
 * What `helm dependency build` writes into a chart (archives, its scratch folder, Chart.lock when
 * missing): outputs, not inputs, or building dependencies would trigger another render.
 */
function isHelmBuildOutput(relToChart: string): boolean {
  return relToChart === 'Chart.lock' || /^charts\/[^/]+\.tgz$/.test(relToChart) || /^(charts\/)?tmpcharts[^/]*(\/|$)/.test(relToChart);
}

/** A chart folder and the folders of its local (`file://`) dependencies, recursively. */
function chartFolders(chart: string, into: string[] = []): string[] {
  const folder = resolve(chart);
  if (into.includes(folder)) return into;
  into.push(folder);
  for (const dependency of chartDependencies(folder)) {
    if (dependency.repository.startsWith('file://')) chartFolders(resolve(folder, dependency.repository.slice('file://'.length)), into);
  }
  return into;
}

export interface ChartDependency {
  name: string;
  repository: string;
}

/** A chart's Chart.yaml: its `name` ('' when none) and `dependencies`; undefined when unreadable or not YAML. */
export function readChart(chart: string): { name: string; dependencies: ChartDependency[] } | undefined {
  let doc: unknown;
  try {
    doc = parse(readFileSync(resolve(chart, 'Chart.yaml'), 'utf8'), { maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return undefined;
  }
  if (!isRecord(doc)) return { name: '', dependencies: [] };
  const name = typeof doc.name === 'string' ? doc.name : '';
  const dependencies = Array.isArray(doc.dependencies) ? doc.dependencies.filter(isRecord).map((d) => ({ name: String(d.name ?? ''), repository: String(d.repository ?? '') })) : [];
  return { name, dependencies };
}

/** `dependencies` of a chart's Chart.yaml (empty when unreadable). */
export function chartDependencies(chart: string): ChartDependency[] {
  return readChart(chart)?.dependencies ?? [];
}

/** Every rendered-manifest input of the config (see the file comment). */
export function manifestInputs(loaded: LoadedConfig): ManifestInputs {
  const files = new Set<string>();
  const dirs: string[] = [];
  const { kustomize, helm } = loaded.config.deploy;
  const visited = new Set<string>();
  for (const path of kustomize.paths) kustomizationInputs(resolve(loaded.dir, path), files, visited);
  for (const release of helm.releases) {
    for (const folder of chartFolders(resolve(loaded.dir, release.chart))) if (!dirs.includes(folder)) dirs.push(folder);
    for (const values of release.valuesFiles) files.add(resolve(loaded.dir, values));
  }
  return { files, dirs };
}

/** Whether an absolute path is one of `inputs`. */
export function isManifestInput(inputs: ManifestInputs, path: string): boolean {
  if (inputs.files.has(path)) return true;
  return inputs.dirs.some((dir) => {
    const rel = posix.relative(dir, path);
    return rel !== '' && !rel.startsWith('../') && !isAbsolute(rel) && !isHelmBuildOutput(rel);
  });
}

/** Existing folders the watcher must look at for `inputs`: each file's folder (not below), each chart folder (all of it). */
export function manifestInputFolders(inputs: ManifestInputs): { dir: string; recursive: boolean }[] {
  const folders = new Map<string, boolean>();
  for (const file of inputs.files) if (!folders.has(dirname(file)) && isDirectory(dirname(file))) folders.set(dirname(file), false);
  for (const dir of inputs.dirs) if (isDirectory(dir)) folders.set(dir, true);
  return [...folders].map(([dir, recursive]) => ({ dir, recursive })).sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

/** kustomize's remote forms: URLs, `git@…`, `host.tld/org/repo//path?ref=…`. */
function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || entry.startsWith('git@') || entry.includes('?ref=') || entry.includes('//') || /^[^./][^/]*\.[a-z]{2,}\//i.test(entry);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
