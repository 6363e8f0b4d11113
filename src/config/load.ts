/**
 * devloop.yaml → LoadedConfig: read, parse with positions, interpolate, apply active profiles,
 * validate against the schema with defaults, then apply CLI/env overrides.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { DevloopConfig, JsonPatchOperation, LoadedConfig, ProfileConfig } from './types.js';
import { configError, parseSource, sourceFromTree, type ConfigTree, type SourceDoc } from './source.js';
import { isPlainObject, validate, type Problem, type ValidateEnv } from './validate.js';
import { checkPlatform, configSchema, profilesSchema } from './schema.js';
import { selectProfiles } from './profiles.js';
import { applyPatch, PatchError } from './jsonpatch.js';
import { checkDefaultRepo } from './names.js';

export interface LoadOptions {
  /** Path as given by -f (relative to cwd). */
  file: string;
  cwd: string;
  /** Profiles named with -p. */
  profiles: string[];
  /** The devloop command being run (for `activation.command`). */
  command: string;
  overrides: { kubeContext?: string; namespace?: string; defaultRepo?: string; platform?: string };
  env: NodeJS.ProcessEnv;
}

export async function loadConfigForCommand(options: LoadOptions): Promise<LoadedConfig> {
  const file = resolve(options.cwd, options.file);
  const displayName = displayPath(options.file, file, options.cwd);
  const text = await readConfigText(file, displayName);
  const { cachedTree } = await import('./tree-cache.js');
  return loadConfigText(text, { ...options, file, displayName, tree: await cachedTree(file, text, displayName) });
}

/** The pure-ish core, for callers (and tests) that already have the text. */
export async function loadConfigText(
  text: string,
  options: Omit<LoadOptions, 'file' | 'cwd'> & { file: string; displayName: string; tree?: ConfigTree },
): Promise<LoadedConfig> {
  const dir = dirname(options.file);
  const source = options.tree !== undefined ? sourceFromTree(options.tree, options.displayName, options.env) : parseSource(text, options.displayName, options.env);
  if (!isPlainObject(source.value)) {
    const message = source.value === null ? 'the file is empty' : 'expected a mapping at the top level';
    throw configError(options.displayName, { line: 1, col: 1 }, [], message, 'start from `devloop init`, or see the config reference');
  }
  const root = source.value;

  // Profiles are validated on their own first: they decide what the rest of the document is.
  const profiles = checked<ProfileConfig[]>(profilesSchema, root.profiles ?? [], source, dir, ['profiles']);
  const { active, unknown } = await selectProfiles(profiles, options.profiles, {
    command: options.command,
    env: options.env,
    kubeContext: async () => {
      const written = isPlainObject(root.deploy) && typeof root.deploy.kubeContext === 'string' ? root.deploy.kubeContext : '';
      const { currentContextName } = await import('../kube/client.js');
      return currentContextName(options.overrides.kubeContext || written || undefined);
    },
  });
  if (unknown.length > 0) {
    const known = profiles.map((p) => p.name);
    throw new ConfigError('PROFILE_UNKNOWN', `${options.displayName}: no profile named ${unknown.map((n) => `"${n}"`).join(', ')}`, {
      hint: known.length ? `profiles in this file: ${known.join(', ')}` : 'this file defines no profiles',
    });
  }

  let patched: unknown = root;
  for (const profile of active) patched = applyProfile(patched, profile, profiles.indexOf(profile), source);

  const config = checked<DevloopConfig>(configSchema, patched, source, dir, []);
  applyOverrides(config, options);
  return { config, file: options.file, dir, activeProfiles: active.map((p) => p.name) };
}

function applyProfile(root: unknown, profile: ProfileConfig, profileIndex: number, source: SourceDoc): unknown {
  const rawPatches = (source.value as { profiles: { patches?: unknown[] }[] }).profiles[profileIndex]?.patches ?? [];
  let current = root;
  profile.patches.forEach((patch: JsonPatchOperation, index) => {
    const rawPatch = rawPatches[index] as object;
    const patchMeta = source.meta.get(rawPatch);
    const at = patchMeta?.pos ?? { line: 1, col: 1 };
    try {
      current = applyPatch(current, { ...patch, value: (rawPatch as { value?: unknown }).value }, source.meta, {
        op: at,
        value: patchMeta?.values.get('value') ?? at,
      });
    } catch (error) {
      if (!(error instanceof PatchError)) throw error;
      throw configError(
        source.displayName,
        at,
        ['profiles', profileIndex, 'patches', index],
        `profile "${profile.name}": ${patch.op} ${patch.path}: ${error.message}`,
        patch.op === 'replace' && /does not exist/.test(error.message)
          ? 'replace needs the key written in the file (defaults come after patches); use add to set it'
          : 'JSON pointers look like /build/artifacts/0/image; ~1 stands for / and ~0 for ~',
        'CONFIG_PATCH',
      );
    }
  });
  return current;
}

function checked<T>(schema: Parameters<typeof validate>[0], value: unknown, source: SourceDoc, dir: string, path: (string | number)[]): T {
  const env: ValidateEnv = { meta: source.meta, dir, problems: [] };
  const rootPos = source.meta.get(source.value as object)?.pos ?? { line: 1, col: 1 };
  const pos = path.length && isPlainObject(source.value) ? source.meta.get(source.value)?.values.get(path[0]!) ?? rootPos : rootPos;
  const result = validate(schema, value, env, { path, pos });
  const first = firstProblem(env.problems);
  if (first) {
    const more = env.problems.length - 1;
    const hint = [first.hint, more > 0 ? `${more} more problem${more > 1 ? 's' : ''} after this one` : undefined].filter(Boolean).join('; ');
    throw configError(source.displayName, first.pos, first.path, first.message, hint || undefined);
  }
  return result as T;
}

/** Report the earliest problem in the file, so fixing top to bottom works. */
function firstProblem(problems: Problem[]): Problem | undefined {
  const parent = (p: Problem): string => JSON.stringify(p.path.slice(0, -1));
  const typos = new Set(problems.filter((p) => p.kind === 'unknown').map(parent));
  const candidates = problems.filter((p) => p.kind !== 'missing' || !typos.has(parent(p)));
  return candidates.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col)[0];
}

function applyOverrides(config: DevloopConfig, options: Pick<LoadOptions, 'overrides' | 'env'>): void {
  const repo = options.overrides.defaultRepo ?? options.env.DEVLOOP_DEFAULT_REPO;
  if (repo !== undefined && repo !== '') {
    const issue = checkDefaultRepo(repo);
    const source = options.overrides.defaultRepo !== undefined ? '--default-repo' : 'DEVLOOP_DEFAULT_REPO';
    if (issue) throw new ConfigError('CONFIG_INVALID', `${source}: ${issue.message}`, { hint: issue.hint });
    config.build.defaultRepo = repo.replace(/\/+$/, '');
  }
  if (options.overrides.kubeContext) config.deploy.kubeContext = options.overrides.kubeContext;
  if (options.overrides.namespace) config.deploy.namespace = options.overrides.namespace;
  if (options.overrides.platform) {
    const platforms = options.overrides.platform.split(',').map((p) => p.trim()).filter(Boolean);
    const bad = platforms.map((p) => checkPlatform(p)).find(Boolean);
    if (bad) throw new ConfigError('CONFIG_INVALID', `--platform: ${bad.message}`, { hint: `${bad.hint}; several: linux/amd64,linux/arm64` });
    config.build.platform = platforms;
  }
}

async function readConfigText(file: string, displayName: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError('CONFIG_NOT_FOUND', `${displayName}: config file not found`, {
        hint: 'run `devloop init` to create one, or pass -f FILE',
      });
    }
    if (code === 'EISDIR') throw new ConfigError('CONFIG_NOT_FOUND', `${displayName}: is a folder, not a config file`, { hint: 'pass -f path/to/devloop.yaml' });
    throw new ConfigError('CONFIG_UNREADABLE', `${displayName}: cannot read config file (${code ?? 'error'})`, { cause: error });
  }
}

/** As the user gave it when relative; relative to cwd when an absolute path lies below it. */
function displayPath(given: string, absolute: string, cwd: string): string {
  if (!isAbsolute(given)) return given;
  const rel = relative(cwd, absolute);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : absolute;
}
