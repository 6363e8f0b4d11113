import { afterEach, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ArtifactConfig } from '../../src/config/types.js';
import { removeTemps, tempDir, writeTree } from '../support/tmp.js';
import {
  artifactInputDigest,
  createInputClassifier,
  createInputDirFilter,
  definitionFolders,
  listArtifactInputs,
} from '../../src/inputs/index.js';
import { compileInputs, isArtifactInput } from './rules.js';
import { gitWorkTreeRoot } from '../../src/inputs/git-ancestors.js';

afterEach(removeTemps);

/** A temp folder with `files`; a git work tree when `git` is set (a real `git init`, outside the project). */
async function tree(files: Record<string, string>, options: { git?: boolean } = {}): Promise<string> {
  const dir = await tempDir('devloop-ancestors-');
  if (options.git) await execa('git', ['init', '-q', dir]);
  await writeTree(dir, files);
  return dir;
}

function goArtifact(context: string, inputs: string[] = ['**/*.go', 'go.mod']): ArtifactConfig {
  return {
    image: 'app',
    context,
    docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' },
    compile: { command: ['go', 'build', '-o', 'bin/app', '.'], inputs, env: {} },
    sync: [],
  };
}

const paths = (files: { path: string }[]): string[] => files.map((f) => f.path);

/** What git itself sees as untracked, not ignored, below `cwd` (no global excludes file). */
async function gitVisible(cwd: string): Promise<string[]> {
  const { stdout } = await execa('git', ['-c', 'core.excludesFile=/dev/null', 'ls-files', '--others', '--exclude-standard'], { cwd });
  return stdout.split('\n').filter(Boolean).sort();
}

const app = {
  'examples/go/app/Dockerfile': 'FROM scratch\nCOPY bin/app /app\n',
  'examples/go/app/go.mod': 'module app\n',
  'examples/go/app/main.go': 'package main\n',
  'examples/go/app/bin/app': 'compiled',
};

describe('.gitignore files above the context', () => {
  it('a root .gitignore (examples/**/bin/) leaves the compiled bin/ out, two levels down', async () => {
    const repo = await tree({ ...app, '.gitignore': 'examples/**/bin/\n' }, { git: true });
    const artifact = goArtifact(join(repo, 'examples/go/app'));
    expect(paths(await listArtifactInputs(artifact))).toEqual(['Dockerfile', 'go.mod', 'main.go']);
    expect(createInputClassifier(artifact)('bin/app')).toEqual({ compile: false, image: false });
    expect(isArtifactInput(artifact, 'bin/app')).toBe(false);
    expect(isArtifactInput(artifact, 'main.go')).toBe(true);
    // The watcher's folder filter is the walk's decision: it does not enter bin/ either.
    expect(createInputDirFilter(artifact)('bin')).toBe(false);
    expect(createInputDirFilter(artifact)('pkg')).toBe(true);

    const before = await artifactInputDigest(artifact);
    await writeFile(join(repo, 'examples/go/app/bin/app'), 'compiled again, differently');
    expect(await artifactInputDigest(artifact)).toBe(before);
  });

  it('applies each file relative to its own folder, last match wins, negations as in git', async () => {
    const repo = await tree(
      {
        ...app,
        '.gitignore': '**/bin/\n*.log\n/main.go\n',
        'examples/.gitignore': 'go/app/generated.go\n/app/\n',
        'examples/go/app/.gitignore': '!keep.log\n!tools/bin/\n',
        'examples/go/app/generated.go': 'package main // generated\n',
        'examples/go/app/keep.log': 'kept',
        'examples/go/app/debug.log': 'ignored',
        'examples/go/app/tools/bin/run.go': 'package bin // re-included folder',
        'examples/go/app/app/x.go': 'package app // /app/ in examples/ is examples/app only',
      },
      { git: true },
    );
    const context = join(repo, 'examples/go/app');
    const artifact = goArtifact(context, []);
    const expected = ['.gitignore', 'Dockerfile', 'app/x.go', 'go.mod', 'keep.log', 'main.go', 'tools/bin/run.go'];
    expect(paths(await listArtifactInputs(artifact))).toEqual(expected);
    expect(await gitVisible(context)).toEqual(expected); // the same answer as git's

    const classify = createInputClassifier(artifact);
    expect(classify('keep.log').compile).toBe(true);
    expect(classify('debug.log').compile).toBe(false);
    expect(classify('generated.go').compile).toBe(false);
    expect(classify('tools/bin/run.go').compile).toBe(true);
    expect(classify('bin/app').compile).toBe(false);
    // Editing an ancestor's .gitignore changes the inputs.
    expect(isArtifactInput(artifact, join(repo, '.gitignore'))).toBe(true);
    expect(isArtifactInput(artifact, join(repo, 'examples/other/.gitignore'))).toBe(false);
  });

  it('stops at the nearest .git: outside a work tree, or above a nested one, ancestors do not count', async () => {
    const plain = await tree({ ...app, '.gitignore': '**/bin/\n' });
    if (gitWorkTreeRoot(plain) === undefined) {
      expect(paths(await listArtifactInputs(goArtifact(join(plain, 'examples/go/app'))))).toContain('bin/app');
    }

    const repo = await tree({ ...app, '.gitignore': '**/bin/\n', 'examples/go/.git': 'gitdir: elsewhere\n' }, { git: true });
    expect(gitWorkTreeRoot(join(repo, 'examples/go/app'))).toBe(join(repo, 'examples/go'));
    expect(paths(await listArtifactInputs(goArtifact(join(repo, 'examples/go/app'))))).toContain('bin/app');
    // …so editing those files changes nothing, and the watcher need not look at them
    const nested = goArtifact(join(repo, 'examples/go/app'));
    expect(isArtifactInput(nested, join(repo, '.gitignore'))).toBe(false);
    expect(isArtifactInput(nested, join(repo, 'examples/go/.gitignore'))).toBe(true);
    expect(definitionFolders(nested)).toEqual([join(repo, 'examples/go')]);
  });

  it('a context git ignores as a whole keeps its inputs (only its own .gitignore applies)', async () => {
    const repo = await tree({ ...app, '.gitignore': 'examples/\n*.go\n', 'examples/go/app/.gitignore': 'bin/\n' }, { git: true });
    const artifact = goArtifact(join(repo, 'examples/go/app'));
    expect(compileInputs(artifact, await listArtifactInputs(artifact))).toEqual(['go.mod', 'main.go']);
    expect(paths(await listArtifactInputs(artifact))).not.toContain('bin/app');
  });

  it('without a compile step .gitignore does not matter (the Docker context is the input)', async () => {
    const repo = await tree({ ...app, '.gitignore': 'examples/**/bin/\n' }, { git: true });
    const artifact: ArtifactConfig = { ...goArtifact(join(repo, 'examples/go/app')), compile: undefined };
    expect(paths(await listArtifactInputs(artifact))).toContain('bin/app');
  });
});
