import { afterEach, describe, expect, it } from 'vitest';
import { chmod, cp, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactConfig } from '../../src/config/types.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import {
  artifactInputDigest,
  createInputClassifier,
  imageInputs,
  listArtifactInputs,
} from '../../src/inputs/index.js';
import { compileInputs, isArtifactInput } from './rules.js';

afterEach(removeTemps);

const project = (files: Record<string, string>): Promise<string> => tempTree('devloop-inputs-', files);

function dockerArtifact(context: string, extra: Partial<ArtifactConfig> = {}): ArtifactConfig {
  return { image: 'app', context, docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [], ...extra };
}

function goArtifact(context: string): ArtifactConfig {
  return dockerArtifact(context, {
    compile: { command: ['go', 'build', '-o', 'bin/hello', '.'], inputs: ['**/*.go', 'go.mod'], env: {} },
  });
}

const paths = (files: { path: string }[]): string[] => files.map((f) => f.path);

describe('listArtifactInputs', () => {
  it('lists the Docker context after .dockerignore, sorted, never .git/node_modules/.devloop', async () => {
    const dir = await project({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': '*.md\n!KEEP.md\nlogs\n',
      'README.md': 'x',
      'KEEP.md': 'x',
      'docs/guide.md': 'root-anchored: *.md does not reach into docs/',
      'logs/a.log': 'x',
      'b/z.txt': 'z',
      'a.txt': 'a',
      '.git/HEAD': 'ref',
      'node_modules/m/index.js': 'x',
      'sub/node_modules/x.js': 'x',
      '.devloop/cache.json': '{}',
    });
    expect(paths(await listArtifactInputs(dockerArtifact(dir)))).toEqual([
      '.dockerignore',
      'Dockerfile',
      'KEEP.md',
      'a.txt',
      'b/z.txt',
      'docs/guide.md',
    ]);
  });

  it('with a compile step: leaves out .gitignored outputs and splits compile from image inputs', async () => {
    const dir = await project({
      Dockerfile: 'FROM scratch\nCOPY bin/hello /hello\n',
      '.gitignore': 'bin/\n',
      '.dockerignore': '*.md\n',
      'main.go': 'package main',
      'go.mod': 'module x',
      'pkg/util.go': 'package pkg',
      'pkg/.gitignore': 'generated.go\n',
      'pkg/generated.go': 'package pkg // generated',
      'bin/hello': 'binary',
      'public/index.html': '<p>hi</p>',
      'NOTES.md': 'not an input: dockerignored and no compile glob',
    });
    const artifact = goArtifact(dir);
    const all = await listArtifactInputs(artifact);
    expect(paths(all)).toEqual(['.dockerignore', '.gitignore', 'Dockerfile', 'go.mod', 'main.go', 'pkg/.gitignore', 'pkg/util.go', 'public/index.html']);
    expect(compileInputs(artifact, all)).toEqual(['go.mod', 'main.go', 'pkg/util.go']);
    expect(paths(await imageInputs(artifact))).not.toContain('bin/hello');
    expect(paths(await imageInputs(artifact))).toContain('public/index.html');
  });

  it('OCI artifacts: the layer sources are the image inputs', async () => {
    const dir = await project({ 'bin/app': 'x', 'static/a.css': 'x', 'static/b/c.js': 'x', 'other/z': 'x' });
    const artifact: ArtifactConfig = {
      image: 'app',
      context: dir,
      oci: { from: 'scratch', layers: [{ from: 'bin/app', to: '/app' }, { from: 'static', to: '/static' }], entrypoint: [], cmd: [], env: {}, workdir: '', user: '', ports: [], labels: {}, platform: 'linux/amd64', compression: 'auto', gzipLevel: 6 },
      sync: [],
    };
    expect(paths(await listArtifactInputs(artifact))).toEqual(['bin/app', 'static/a.css', 'static/b/c.js']);
  });
});

describe('artifactInputDigest', () => {
  const files = {
    Dockerfile: 'FROM scratch\nCOPY . /\n',
    '.gitignore': 'bin/\n',
    'main.go': 'package main\n',
    'go.mod': 'module x\n',
    'public/index.html': 'hi\n',
  };

  it('is the same for two clones at different paths with different mtimes and umask', async () => {
    const a = await project(files);
    const b = await project({});
    await cp(a, b, { recursive: true });
    await utimes(join(b, 'main.go'), new Date('2001-01-01'), new Date('2001-01-01'));
    await chmod(join(b, 'public/index.html'), 0o664); // another umask
    await mkdir(join(b, 'bin'));
    await writeFile(join(b, 'bin/hello'), 'a compile output only one clone has');
    expect(await artifactInputDigest(goArtifact(a))).toEqual(await artifactInputDigest(goArtifact(b)));
    expect(await artifactInputDigest(goArtifact(a))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('changes with content, the executable bit, build args and the Dockerfile; not with ignored files', async () => {
    const dir = await project(files);
    const artifact = goArtifact(dir);
    const base = await artifactInputDigest(artifact);

    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin/hello'), 'output');
    expect(await artifactInputDigest(artifact)).toBe(base);

    await writeFile(join(dir, 'public/index.html'), 'changed\n');
    const changed = await artifactInputDigest(artifact);
    expect(changed).not.toBe(base);

    await chmod(join(dir, 'public/index.html'), 0o755);
    const executable = await artifactInputDigest(artifact);
    expect(executable).not.toBe(changed);

    const withArgs = { ...artifact, docker: { ...artifact.docker!, buildArgs: { BASE: 'busybox' } } };
    expect(await artifactInputDigest(withArgs)).not.toBe(executable);

    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    expect(await artifactInputDigest(artifact)).not.toBe(executable);
  });
});

describe('a change to one path (createChangeClassifier)', () => {
  it('answers for single paths like the walk does', async () => {
    const dir = await project({
      Dockerfile: 'FROM scratch\n',
      '.gitignore': 'bin/\ntmp-*\n',
      '.dockerignore': '*.md\n',
      'main.go': 'package main',
    });
    const artifact = goArtifact(dir);
    expect(isArtifactInput(artifact, 'main.go')).toBe(true);
    expect(isArtifactInput(artifact, 'new/file.go')).toBe(true);
    expect(isArtifactInput(artifact, 'public/index.html')).toBe(true);
    expect(isArtifactInput(artifact, join(dir, 'public/x.css'))).toBe(true);
    expect(isArtifactInput(artifact, 'bin/hello')).toBe(false);
    expect(isArtifactInput(artifact, 'tmp-1.go')).toBe(false);
    expect(isArtifactInput(artifact, 'README.md')).toBe(false);
    expect(isArtifactInput(artifact, '.git/index')).toBe(false);
    expect(isArtifactInput(artifact, 'node_modules/x/y.js')).toBe(false);
    expect(isArtifactInput(artifact, '../elsewhere.go')).toBe(false);
    expect(isArtifactInput(artifact, 'Dockerfile')).toBe(true);
    expect(isArtifactInput(artifact, '.gitignore')).toBe(true);

    const classify = createInputClassifier(artifact);
    expect(classify('main.go')).toEqual({ compile: true, image: true });
    expect(classify('public/index.html')).toEqual({ compile: false, image: true });
    expect(classify('docs/notes.md')).toEqual({ compile: false, image: true });
  });
});

describe('FileHashCache', () => {
  it('remembers hashes by size and mtime, never for files modified just before hashing', async () => {
    const { FileHashCache } = await import('../../src/inputs/index.js');
    const dir = await project({ 'a.txt': 'a' });
    const file = join(dir, '.devloop', 'file-hashes.json');
    const cache = await FileHashCache.load(file);
    const old = { size: 1, mtimeMs: Date.now() - 60_000 };
    const fresh = { size: 1, mtimeMs: Date.now() - 100 };
    cache.record('/p/old', old, 'h-old');
    cache.record('/p/fresh', fresh, 'h-fresh');
    expect(cache.lookup('/p/old', old)).toBe('h-old');
    expect(cache.lookup('/p/fresh', fresh)).toBeUndefined();
    await cache.save();
    const again = await FileHashCache.load(file);
    expect(again.lookup('/p/old', old)).toBe('h-old');
    expect(again.lookup('/p/old', { ...old, mtimeMs: old.mtimeMs + 1 })).toBeUndefined();
    expect(again.lookup('/p/old', { ...old, size: 2 })).toBeUndefined();
  });

  it('gives the same digest with and without remembered hashes, and notices edits', async () => {
    const { FileHashCache } = await import('../../src/inputs/index.js');
    const dir = await project({ Dockerfile: 'FROM scratch\n', 'a.txt': 'one' });
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'a.txt'), past, past);
    const artifact = dockerArtifact(dir);
    const cache = await FileHashCache.load(join(dir, '.devloop', 'file-hashes.json'));
    const first = await artifactInputDigest(artifact, undefined, { hashCache: cache });
    expect(await artifactInputDigest(artifact, undefined, { hashCache: cache })).toBe(first);
    expect(await artifactInputDigest(artifact, undefined, { hashCache: FileHashCache.memory() })).toBe(first);
    await writeFile(join(dir, 'a.txt'), 'two'); // same size, new mtime
    expect(await artifactInputDigest(artifact, undefined, { hashCache: cache })).not.toBe(first);
  });
});
