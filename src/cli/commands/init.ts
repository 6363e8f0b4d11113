/**
 * `devloop init [--template go|node] [--force]`: writes a runnable starter into the current folder,
 * named after the folder. Templates ship in the npm package under templates/.
 */
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { CommandContext } from '../context.js';
import { DevloopError } from '../../errors.js';
import { toDnsLabel } from '../../config/names.js';

const TEMPLATES = ['go', 'node'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/**
 * templates/ next to src/ and dist/: the nearest ancestor of this module's folder that has one. This module
 * runs from src/cli/commands (tests), dist/cli/commands (tsc output) and dist/bundle (the bundled CLI).
 */
const TEMPLATES_DIR = findTemplatesDir(dirname(fileURLToPath(import.meta.url)));

function findTemplatesDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'templates', 'go'))) return join(dir, 'templates') + sep;
    if (dirname(dir) === dir) return join(from, '..', '..', '..', 'templates') + sep; // reported when read
  }
}

export interface TemplateFile {
  /** Path relative to the project folder, posix separators. */
  path: string;
  content: string;
}

/** `_gitignore` → `.gitignore`: npm drops dotfiles like .gitignore from packages, so templates store them renamed. */
export function targetPath(templatePath: string): string {
  return templatePath
    .split('/')
    .map((part) => (part.startsWith('_') ? `.${part.slice(1)}` : part))
    .join('/');
}

export function renderTemplate(files: TemplateFile[], name: string): TemplateFile[] {
  return files.map((file) => ({ path: targetPath(file.path), content: file.content.replaceAll('__NAME__', name) }));
}

async function readTemplate(template: TemplateName, root = TEMPLATES_DIR): Promise<TemplateFile[]> {
  const base = join(root, template);
  const files: TemplateFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else files.push({ path: relative(base, full).split(sep).join('/'), content: await readFile(full, 'utf8') });
    }
  };
  try {
    await walk(base);
  } catch (error) {
    throw new DevloopError('INIT_TEMPLATE_MISSING', `template "${template}" is not installed (${base})`, {
      hint: 'reinstall devloop; its package ships templates/',
      cause: error,
    });
  }
  return files;
}

export interface InitOptions {
  template?: string;
  force?: boolean;
}

/** Writes the starter into `dir`; returns the written paths. Refuses (exit 2) to overwrite without force. */
export async function initProject(dir: string, options: InitOptions): Promise<{ name: string; files: string[] }> {
  const template = (options.template ?? 'go') as TemplateName;
  if (!TEMPLATES.includes(template)) {
    throw new DevloopError('USAGE', `unknown template "${options.template}"`, { hint: `templates: ${TEMPLATES.join(', ')}`, exitCode: 2 });
  }
  const name = toDnsLabel(basename(dir));
  const files = renderTemplate(await readTemplate(template), name);
  if (!options.force) {
    const existing = (await Promise.all(files.map(async (f) => ((await exists(join(dir, f.path))) ? f.path : undefined)))).filter(
      (p): p is string => p !== undefined,
    );
    if (existing.length > 0) {
      throw new DevloopError('INIT_WOULD_OVERWRITE', `init would overwrite ${existing.join(', ')}; nothing was written`, {
        hint: 'pass --force to overwrite them, or run init in an empty folder',
        exitCode: 2,
      });
    }
  }
  for (const file of files) {
    const target = join(dir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  return { name, files: files.map((f) => f.path) };
}

export async function init(ctx: CommandContext, opts: InitOptions = {}): Promise<number | void> {
  const template = opts.template ?? 'go';
  const { name, files } = await initProject(ctx.cwd, opts);
  ctx.emit({
    type: 'notice',
    level: 'info',
    message: `created the ${template} starter "${name}": ${files.join(', ')}`,
    hint: 'next: `devloop run` (uses the current kube context; set build.defaultRepo or DEVLOOP_DEFAULT_REPO unless the cluster is kind/k3d/minikube)',
  });
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
