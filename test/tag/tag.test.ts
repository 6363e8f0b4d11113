import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { hasRegistryHost } from '../../src/registry/reference.js';
import { dateTimeTag, gitState, imageRepository, policyUsesGit, policyUsesTime, renderTag } from '../../src/tag/index.js';

const digest = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const now = new Date('2024-05-06T07:08:09.123Z');

describe('imageRepository', () => {
  it('prefixes defaultRepo unless the image names a registry host', () => {
    expect(imageRepository('127.0.0.1:5000', 'hello')).toBe('127.0.0.1:5000/hello');
    expect(imageRepository('registry.example.com/team/', 'app')).toBe('registry.example.com/team/app');
    expect(imageRepository('127.0.0.1:5000', 'org/app')).toBe('127.0.0.1:5000/org/app');
    expect(imageRepository('127.0.0.1:5000', 'ghcr.io/org/app')).toBe('ghcr.io/org/app');
    expect(imageRepository('127.0.0.1:5000', 'localhost/app')).toBe('localhost/app');
    expect(imageRepository('127.0.0.1:5000', 'other:5001/app')).toBe('other:5001/app');
    expect(imageRepository('', 'hello')).toBe('hello');
    expect(hasRegistryHost('hello')).toBe(false);
  });
});

describe('renderTag', () => {
  const values = { image: 'org/app', inputDigest: digest, now, git: { commit: 'abc1234', dirty: false } };

  it('implements each policy', () => {
    expect(renderTag('inputDigest', values)).toBe('0123456789abcdef');
    expect(renderTag('gitCommit', values)).toBe('abc1234');
    expect(renderTag('gitCommit', { ...values, git: { commit: 'abc1234', dirty: true } })).toBe('abc1234-dirty');
    expect(renderTag('dateTime', values)).toBe('2024-05-06_07-08-09');
    expect(dateTimeTag(now)).toBe('2024-05-06_07-08-09');
    expect(renderTag({ template: '{{.IMAGE}}-{{.GIT}}-{{ .DIGEST }}-{{.DATE}}' }, values)).toBe('org-app-abc1234-0123456789abcdef-2024-05-06_07-08-09');
  });

  it('rejects unknown fields and invalid results with a ConfigError', () => {
    expect(() => renderTag({ template: 'v-{{.SHA}}' }, values)).toThrowError(ConfigError);
    expect(() => renderTag({ template: 'v-{{.SHA}}' }, values)).toThrowError(/unknown field \{\{\.SHA\}\}/);
    expect(() => renderTag({ template: 'has space' }, values)).toThrowError(/not a valid image tag/);
    expect(() => renderTag({ template: '' }, values)).toThrowError(ConfigError);
  });

  it('knows which policies need git and which change with the clock', () => {
    expect(policyUsesGit('gitCommit')).toBe(true);
    expect(policyUsesGit({ template: 'x-{{.GIT}}' })).toBe(true);
    expect(policyUsesGit('inputDigest')).toBe(false);
    expect(policyUsesTime('dateTime')).toBe(true);
    expect(policyUsesTime({ template: '{{.DATE}}' })).toBe(true);
    expect(policyUsesTime({ template: '{{.DIGEST}}' })).toBe(false);
  });
});

describe('gitState', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the short commit and whether the tree is dirty', async () => {
    dir = await mkdtemp(join(tmpdir(), 'devloop-git-'));
    const git = (...args: string[]) => execa('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir });
    await git('init', '-q');
    await writeFile(join(dir, 'a.txt'), 'a');
    await git('add', '.');
    await git('commit', '-q', '-m', 'one');
    const clean = await gitState(dir);
    expect(clean.commit).toMatch(/^[0-9a-f]{7}$/);
    expect(clean.dirty).toBe(false);
    await writeFile(join(dir, 'a.txt'), 'b');
    expect(await gitState(dir)).toEqual({ commit: clean.commit, dirty: true });
  });

  it('fails with a hint outside a repository', async () => {
    dir = await mkdtemp(join(tmpdir(), 'devloop-nogit-'));
    await expect(gitState(dir)).rejects.toMatchObject({ code: 'TAG_GIT_FAILED' });
  });
});
