/**
 * Local charts rendered by `helm template` (never `helm install`: no release secret, devloop applies,
 * prunes and deletes the output like any manifest). Chart dependencies are built with
 * `helm dependency build` when `charts/` lacks one or is older than what it is built from.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { HelmReleaseConfig, LoadedConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { ConfigError, DevloopError } from '../errors.js';
import { chartDependencies, readChart, type ChartDependency } from '../inputs/manifests.js';
import { isAlwaysIgnored } from '../inputs/rules.js';
import { parseManifests } from './parse.js';
import { cachedHelmPath, findExecutable, runTool, shownPath } from './tools.js';
import type { ManifestObject } from './types.js';

/** The configured program, else helm on PATH, else the copy installed in ~/.cache/devloop-helm. */
export function findHelm(binary: string, dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const found = binary ? findExecutable(binary, dir, env) : (findExecutable('helm', dir, env) ?? findExecutable(cachedHelmPath(env), dir, env));
  if (found) return found;
  throw new DevloopError('RENDER_TOOL_NOT_FOUND', binary ? `deploy.helm.binary: ${binary} not found` : `deploy.helm: helm is not on PATH nor at ${cachedHelmPath(env)}`, {
    hint: 'install Helm 3 (README: "Helm charts"), or name the program in deploy.helm.binary',
  });
}

/** `helm template` arguments for one release. Pure. */
export function helmTemplateArgs(release: HelmReleaseConfig, configDir: string, namespace: string): string[] {
  const args = ['template', release.name, resolve(configDir, release.chart), '--namespace', namespace, '--include-crds', '--skip-tests'];
  for (const file of release.valuesFiles) args.push('--values', resolve(configDir, file));
  // helm splits --set on commas; a literal comma in a value is written \, (and a backslash \\).
  for (const [key, value] of Object.entries(release.setValues)) args.push('--set', `${key}=${value.replace(/\\/g, '\\\\').replace(/,/g, '\\,')}`);
  return args;
}

/**
 * Whether `helm dependency build` must run: the chart declares dependencies and `charts/` lacks one of
 * them, or an archive there is older than Chart.yaml or (for `file://` ones) a file of the
 * dependency's folder.
 */
export function dependenciesStale(chart: string, dependencies: readonly ChartDependency[] = chartDependencies(chart)): boolean {
  if (dependencies.length === 0) return false;
  let entries: string[];
  try {
    entries = readdirSync(join(chart, 'charts'));
  } catch {
    return true;
  }
  // Not Chart.lock: `helm dependency build` writes it after the archives when it was missing.
  const definition = mtime(join(chart, 'Chart.yaml'));
  for (const dependency of dependencies) {
    if (entries.includes(dependency.name) && statSync(join(chart, 'charts', dependency.name)).isDirectory()) continue; // vendored by hand
    const archives = entries.filter((e) => e.startsWith(`${dependency.name}-`) && e.endsWith('.tgz'));
    if (archives.length === 0) return true;
    const built = Math.min(...archives.map((a) => mtime(join(chart, 'charts', a))));
    if (definition > built) return true;
    if (dependency.repository.startsWith('file://') && newestFile(resolve(chart, dependency.repository.slice('file://'.length))) > built) return true;
  }
  return false;
}

/** Renders every configured release, in order. `namespace` is the deploy namespace (default: "default"). */
export async function renderHelmReleases(loaded: LoadedConfig, namespace: string | undefined, signal?: AbortSignal, emit?: Emit): Promise<ManifestObject[]> {
  const { releases, binary } = loaded.config.deploy.helm;
  if (releases.length === 0) return [];
  const objects: ManifestObject[] = [];
  let helm: string | undefined;
  for (const [index, release] of releases.entries()) {
    const chart = resolve(loaded.dir, release.chart);
    const shown = shownPath(chart, loaded.dir);
    const chartFile = readChart(chart);
    if (chartFile === undefined) {
      throw new ConfigError('HELM_CHART_NOT_FOUND', `deploy.helm.releases[${index}].chart: ${shown} has no readable Chart.yaml`, {
        hint: `chart is a local chart folder relative to ${loaded.dir}`,
      });
    }
    release.valuesFiles.forEach((file, i) => {
      if (mtime(resolve(loaded.dir, file)) === 0) {
        throw new ConfigError('HELM_VALUES_NOT_FOUND', `deploy.helm.releases[${index}].valuesFiles[${i}]: ${file} does not exist`, {
          hint: `values files are relative to ${loaded.dir}`,
        });
      }
    });
    helm ??= findHelm(binary, loaded.dir);
    const chartName = chartFile.name;
    if (dependenciesStale(chart, chartFile.dependencies)) {
      emit?.({ type: 'progress', stage: 'render', message: `helm dependency build ${shown}` });
      const built = await runTool(helm, ['dependency', 'build', chart], { cwd: loaded.dir, signal, what: `helm dependency build ${shown}` });
      if (built.exitCode !== 0) {
        throw new DevloopError('HELM_DEPENDENCY_FAILED', `helm dependency build ${shown}: ${helmErrorLine(built.stderr, chartName, shown)}`, {
          hint: 'dependencies are declared in Chart.yaml; run `helm dependency update` when Chart.lock is out of date',
        });
      }
    }
    const releaseNamespace = release.namespace || namespace || 'default';
    const run = await runTool(helm, helmTemplateArgs(release, loaded.dir, releaseNamespace), { cwd: loaded.dir, signal, what: `helm template ${release.name}` });
    if (run.exitCode !== 0) {
      throw new DevloopError('HELM_TEMPLATE_FAILED', `helm template ${release.name} (${shown}): ${helmErrorLine(run.stderr, chartName, shown)}`, {
        hint: `fix the chart or its values; \`helm template ${release.name} ${shown} --debug\` shows the rendered output`,
      });
    }
    for (const part of splitHelmOutput(run.stdout, chartName, shown)) {
      const parsed = parseManifests(part.text, `${part.source} (rendered)`);
      // `helm install -n X` puts objects that name no namespace in X: keep that for an explicit release namespace.
      if (release.namespace) for (const { object } of parsed) object.metadata.namespace ||= release.namespace;
      objects.push(...parsed);
    }
  }
  return objects;
}

/**
 * `helm template` output cut at its `# Source: <chart>/templates/x.yaml` comments, each part named by
 * that template's path below the config folder. Pure.
 */
export function splitHelmOutput(stdout: string, chartName: string, chartShown: string): { source: string; text: string }[] {
  const parts: { source: string; text: string }[] = [];
  let current: { source: string; lines: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    const source = /^# Source: (.+)$/.exec(line);
    if (source) {
      if (current) parts.push({ source: current.source, text: current.lines.join('\n') });
      current = { source: chartPath(source[1]!.trim(), chartName, chartShown), lines: [] };
    }
    (current ??= { source: chartShown, lines: [] }).lines.push(line);
  }
  if (current) parts.push({ source: current.source, text: current.lines.join('\n') });
  return parts.filter((p) => p.text.replace(/^(---|#.*)?$/gm, '').trim() !== '');
}

/**
 * Helm's `Error: …` line with chart-relative paths shown below the config folder. Helm names templates
 * `<chart name>/templates/x.yaml` in output and `<folder name>/templates/x.yaml` in parse errors. Pure.
 */
export function helmErrorLine(stderr: readonly string[], chartName: string, chartShown: string): string {
  const line = stderr.find((l) => l.startsWith('Error: '))?.slice('Error: '.length) ?? stderr.map((l) => l.trim()).filter(Boolean).at(-1) ?? 'failed without a message';
  const names = [...new Set([chartName, basename(chartShown)])].filter((n) => n !== '' && n !== '.');
  if (names.length === 0) return line;
  const prefix = new RegExp(`(^|[\\s"'(<])(?:${names.map(escapeRegExp).join('|')})/(?=\\S)`, 'g');
  return line.replace(prefix, `$1${chartShown}/`);
}

function chartPath(path: string, chartName: string, chartShown: string): string {
  return path.startsWith(`${chartName}/`) ? `${chartShown}/${path.slice(chartName.length + 1)}` : path;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newestFile(dir: string): number {
  let newest = 0;
  const walk = (folder: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (isAlwaysIgnored(childRel)) continue;
      if (entry.isDirectory()) walk(join(folder, entry.name), childRel);
      else newest = Math.max(newest, mtime(join(folder, entry.name)));
    }
  };
  walk(dir, '');
  return newest;
}


function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
