/**
 * Kustomizations rendered by `kubectl kustomize DIR` or `kustomize build DIR`; the output is parsed
 * like any manifest file and goes through the same rewrite, labels and apply. Errors become one line
 * naming the file kustomize complained about.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { LoadedConfig } from '../config/types.js';
import { ConfigError, DevloopError } from '../errors.js';
import { kustomizationFile, KUSTOMIZATION_FILES } from '../inputs/manifests.js';
import { MAX_ALIAS_COUNT } from '../config/source.js';
import { parseManifests } from './parse.js';
import { findExecutable, runTool, shownPath } from './tools.js';
import type { ManifestObject } from './types.js';

export interface KustomizeTool {
  file: string;
  /** Arguments before the kustomization folder. */
  args: string[];
  /** "kubectl kustomize" or "kustomize build", for messages. */
  label: string;
}

/** The configured program, else kubectl on PATH, else kustomize on PATH. */
export function findKustomize(binary: string, dir: string, env: NodeJS.ProcessEnv = process.env): KustomizeTool {
  const candidates = binary ? [binary] : ['kubectl', 'kustomize'];
  for (const name of candidates) {
    const file = findExecutable(name, dir, env);
    if (!file) continue;
    return basename(file).startsWith('kubectl')
      ? { file, args: ['kustomize'], label: `${basename(file)} kustomize` }
      : { file, args: ['build'], label: `${basename(file)} build` };
  }
  throw new DevloopError(
    'RENDER_TOOL_NOT_FOUND',
    binary ? `deploy.kustomize.binary: ${binary} not found` : 'deploy.kustomize: neither kubectl nor kustomize is on PATH',
    { hint: 'install kubectl (v1.21+, it embeds kustomize v4+) or kustomize, or name the program in deploy.kustomize.binary' },
  );
}

/** Renders each configured kustomization, in order. */
export async function renderKustomizations(loaded: LoadedConfig, signal?: AbortSignal): Promise<ManifestObject[]> {
  const { paths, binary } = loaded.config.deploy.kustomize;
  if (paths.length === 0) return [];
  const objects: ManifestObject[] = [];
  let tool: KustomizeTool | undefined;
  for (const [index, path] of paths.entries()) {
    const dir = resolve(loaded.dir, path);
    const shown = shownPath(dir, loaded.dir);
    if (!kustomizationFile(dir)) {
      throw new ConfigError('KUSTOMIZATION_NOT_FOUND', `deploy.kustomize.paths[${index}]: ${shown} has no ${KUSTOMIZATION_FILES.join(', ')}`, {
        hint: `paths are kustomization folders relative to ${loaded.dir}`,
      });
    }
    checkKustomizationYaml(dir, loaded.dir);
    tool ??= findKustomize(binary, loaded.dir);
    const run = await runTool(tool.file, [...tool.args, dir], { cwd: loaded.dir, signal, what: `${tool.label} ${shown}` });
    if (run.exitCode !== 0) {
      throw new DevloopError('KUSTOMIZE_FAILED', `${tool.label} ${shown}: ${kustomizeErrorLine(run.stderr, dir, loaded.dir)}`, {
        hint: `run \`${tool.label} ${shown}\` for kustomize's full message`,
      });
    }
    objects.push(...parseManifests(run.stdout, `${shown} (kustomize output)`));
  }
  return objects;
}

/**
 * kustomize reports a broken kustomization file without naming it; every kustomization this one
 * resolves is checked for YAML syntax first, so the message can name the file and line.
 */
function checkKustomizationYaml(dir: string, configDir: string, visited = new Set<string>()): void {
  const file = kustomizationFile(dir);
  if (!file || visited.has(file)) return;
  visited.add(file);
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: false, uniqueKeys: false });
  const problem = doc.errors[0];
  if (!problem) {
    // Nested bases and components, with the same check.
    const value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown> | null;
    for (const key of ['resources', 'bases', 'components']) {
      const entries = value && Array.isArray(value[key]) ? (value[key] as unknown[]) : [];
      for (const entry of entries) if (typeof entry === 'string' && !entry.includes('://')) checkKustomizationYaml(resolve(dir, entry), configDir, visited);
    }
    return;
  }
  const line = problem.linePos?.[0]?.line ?? 1;
  throw new DevloopError('KUSTOMIZE_FAILED', `${shownPath(file, configDir)}:${line}: invalid YAML: ${problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, {
    hint: 'fix the YAML syntax of this kustomization',
  });
}

/**
 * The one line worth showing from kustomize's error output: the file it named (relative to the
 * config folder) and what is wrong with it. Pure.
 * - kubectl prints `E… run.go:72] "command failed" err="…"` (or `err=<` … `>` over several lines);
 * - kustomize prints `Error: …`.
 */
export function kustomizeErrorLine(stderr: readonly string[], kustomizationDir: string, configDir: string): string {
  const message = errorMessage(stderr);
  const missing = /lstat (\/[^:]+): no such file or directory/.exec(message);
  if (missing) return `${shownPath(missing[1]!, configDir)}: no such file or directory`;
  const inFile = / in File: (\S+)\s*$/.exec(message);
  if (inFile) {
    // The file is relative to the kustomization being accumulated: the last folder named before it.
    const folders = [...message.matchAll(/path '(\/[^']+)'/g)].map((m) => m[1]!);
    const base = folders.at(-1) ?? kustomizationDir;
    const before = message.slice(0, inFile.index);
    const reason = before.slice(before.lastIndexOf("': ") + 3);
    return `${shownPath(resolve(base, inFile[1]!), configDir)}: ${reason.trim()}`;
  }
  return message.replace(/(\/[^\s'":]+)/g, (path) => (path.startsWith('/') ? shownPath(path, configDir) : path));
}

function errorMessage(stderr: readonly string[]): string {
  const text = stderr.join('\n');
  const quoted = /err="((?:[^"\\]|\\.)*)"/.exec(text);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const block = /err=<\n([\s\S]*?)\n\s*>/.exec(text);
  if (block) return block[1]!.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  const error = stderr.find((l) => l.startsWith('Error: '));
  if (error) return error.slice('Error: '.length);
  return stderr.map((l) => l.trim()).filter(Boolean).at(-1) ?? 'failed without a message';
}
