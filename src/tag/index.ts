/**
 * Image names and tags. The policies are pure functions of their values (digest, git state, time,
 * image); only `gitState` touches the outside world.
 */
import type { TagPolicy } from '../config/types.js';
import { ConfigError, DevloopError } from '../errors.js';
import { hasRegistryHost } from '../registry/reference.js';

/** `defaultRepo/image`, unless `image` already names a registry host (or there is no defaultRepo). */
export function imageRepository(defaultRepo: string, image: string): string {
  const repo = defaultRepo.replace(/\/+$/, '');
  if (!repo || hasRegistryHost(image)) return image;
  return `${repo}/${image}`;
}

/** Length of the hex prefix of the input digest used as the tag. */
const DIGEST_TAG_LENGTH = 16;

function inputDigestTag(inputDigest: string): string {
  return inputDigest.replace(/^sha256:/, '').slice(0, DIGEST_TAG_LENGTH);
}

/** "2024-05-06_07-08-09" in UTC: sortable and a valid tag. */
export function dateTimeTag(now: Date): string {
  const iso = now.toISOString(); // 2024-05-06T07:08:09.123Z
  return `${iso.slice(0, 10)}_${iso.slice(11, 19).replace(/:/g, '-')}`;
}

export interface GitState {
  /** Short commit SHA. */
  commit: string;
  dirty: boolean;
}

function gitCommitTag(git: GitState): string {
  return git.dirty ? `${git.commit}-dirty` : git.commit;
}

export interface TagValues {
  image: string;
  /** sha256:… input digest. */
  inputDigest: string;
  now: Date;
  /** Needed only by gitCommit and templates using {{.GIT}}. */
  git?: GitState;
}

const TEMPLATE_FIELD = /\{\{\s*\.([A-Za-z]+)\s*\}\}/g;
const TEMPLATE_FIELDS = ['GIT', 'DIGEST', 'DATE', 'IMAGE'] as const;
const VALID_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function policyUsesGit(policy: TagPolicy): boolean {
  return policy === 'gitCommit' || (typeof policy === 'object' && /\{\{\s*\.GIT\s*\}\}/.test(policy.template));
}

/** Policies whose tag changes with the clock: cached builds keep their tag until the inputs change. */
export function policyUsesTime(policy: TagPolicy): boolean {
  return policy === 'dateTime' || (typeof policy === 'object' && /\{\{\s*\.DATE\s*\}\}/.test(policy.template));
}

/** The tag a policy gives for these values. Throws a ConfigError for a template that yields no valid tag. */
export function renderTag(policy: TagPolicy, values: TagValues): string {
  const git = (): string => {
    if (!values.git) throw new DevloopError('TAG_NO_GIT', `tag policy needs git, but no commit is known for "${values.image}"`);
    return gitCommitTag(values.git);
  };
  if (policy === 'inputDigest') return inputDigestTag(values.inputDigest);
  if (policy === 'gitCommit') return git();
  if (policy === 'dateTime') return dateTimeTag(values.now);
  const tag = policy.template.replace(TEMPLATE_FIELD, (_all, field: string) => {
    switch (field) {
      case 'GIT':
        return git();
      case 'DIGEST':
        return inputDigestTag(values.inputDigest);
      case 'DATE':
        return dateTimeTag(values.now);
      case 'IMAGE':
        return values.image.replace(/[^A-Za-z0-9_.-]/g, '-');
      default:
        throw new ConfigError('TAG_TEMPLATE_FIELD', `tag template "${policy.template}" uses unknown field {{.${field}}}`, {
          hint: `known fields: ${TEMPLATE_FIELDS.map((f) => `{{.${f}}}`).join(', ')}`,
        });
    }
  });
  if (!VALID_TAG.test(tag)) {
    throw new ConfigError('TAG_INVALID', `tag template "${policy.template}" gives "${tag}", which is not a valid image tag`, {
      hint: 'tags are 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"',
    });
  }
  return tag;
}

/** Commit and dirtiness of the git work tree holding `dir`. */
export async function gitState(dir: string, signal?: AbortSignal): Promise<GitState> {
  const { runStreaming } = await import('../util/process.js');
  const head = await runStreaming({ file: 'git', args: ['rev-parse', '--short=7', 'HEAD'], cwd: dir, signal });
  if (head.exitCode !== 0) {
    const notFound = head.spawnErrorCode === 'ENOENT';
    throw new DevloopError('TAG_GIT_FAILED', notFound ? 'tag policy gitCommit needs git, which is not installed' : `tag policy gitCommit: ${dir} is not in a git repository with a commit`, {
      hint: 'use tagPolicy: inputDigest, or commit once (`git init && git commit`)',
    });
  }
  const status = await runStreaming({ file: 'git', args: ['status', '--porcelain', '--untracked-files=normal'], cwd: dir, signal });
  return { commit: head.stdout.join('\n').trim(), dirty: status.stdout.join('\n').trim() !== '' };
}
