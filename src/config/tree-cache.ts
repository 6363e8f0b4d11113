/**
 * The parsed devloop.yaml kept between runs: `.devloop/config-tree.json` holds the ConfigTree of
 * the last text read, keyed by a hash of that text and of the devloop code that parsed it. The YAML
 * parser runs cold in every short command (~12 ms of a 150 ms no-op build); JSON.parse of the
 * tree takes well under one. The tree is the file as written, before interpolation: no value of
 * the environment (a password in `${VAR}`) is stored. A missing, stale or unreadable cache is
 * parsed again; one that cannot be written is skipped.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomic.js';
import { parseTree, type ConfigTree } from './source.js';

interface CachedTree {
  key: string;
  tree: ConfigTree;
}

/** The tree of `text` (the config file `file`), from the cache when it has this text. */
export async function cachedTree(file: string, text: string, displayName: string): Promise<ConfigTree> {
  const cacheFile = join(dirname(file), '.devloop', 'config-tree.json');
  const key = await cacheKey(file, text);
  const cached = await readFile(cacheFile, 'utf8')
    .then((json) => JSON.parse(json) as CachedTree)
    .catch(() => undefined);
  if (cached?.key === key) return cached.tree;
  const tree = parseTree(text, displayName);
  // JSON has no Infinity or NaN (`.inf`, `.nan`): such a file is parsed each time.
  if (!hasNonFinite(tree)) await writeFileAtomic(cacheFile, JSON.stringify({ key, tree } satisfies CachedTree)).catch(() => undefined);
  return tree;
}

/** The text, the file's path, and this module's own file (another devloop build may parse differently). */
async function cacheKey(file: string, text: string): Promise<string> {
  const self = await stat(fileURLToPath(import.meta.url)).then((s) => `${s.size}:${s.mtimeMs}`, () => 'unknown');
  return createHash('sha256').update(`${self}\0${file}\0${text}`).digest('hex');
}

function hasNonFinite(tree: ConfigTree): boolean {
  if (tree === null) return false;
  if ('scalar' in tree) return typeof tree.scalar === 'number' && !Number.isFinite(tree.scalar);
  if ('seq' in tree) return tree.seq.some((item) => hasNonFinite(item.value));
  return tree.map.some((entry) => hasNonFinite(entry.value));
}
