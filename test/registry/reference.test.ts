import { describe, expect, it } from 'vitest';
import {
  hasRegistryHost,
  isDockerHub,
  isRepositoryName,
  isTaggedReferenceTo,
  namedRegistry,
  parseImageReference,
  registryOf,
  sameImage,
  splitImageReference,
} from '../../src/registry/reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('registry host (docker rule: "." or ":" or localhost in the first component)', () => {
  it('names the host as written, or none for Docker Hub', () => {
    expect(namedRegistry('127.0.0.1:5000/hello')).toBe('127.0.0.1:5000');
    expect(namedRegistry('ghcr.io/a/b:1')).toBe('ghcr.io');
    expect(namedRegistry('localhost/x')).toBe('localhost');
    expect(namedRegistry('localhost:5000/x@' + DIGEST)).toBe('localhost:5000');
    expect(namedRegistry('[::1]:5000/x')).toBe('[::1]:5000');
    expect(namedRegistry('hello')).toBeUndefined();
    expect(namedRegistry('library/busybox')).toBeUndefined();
    expect(namedRegistry('team/app:1.2')).toBeUndefined();
    // "localhost" alone, without a path, is a repository on Docker Hub.
    expect(namedRegistry('localhost')).toBeUndefined();
    expect(namedRegistry('localhost:5000')).toBeUndefined();
  });

  it('says docker.io for messages when no host is named', () => {
    expect(registryOf('busybox')).toBe('docker.io');
    expect(registryOf('org/app')).toBe('docker.io');
    expect(registryOf('127.0.0.1:5000/hello')).toBe('127.0.0.1:5000');
    expect(hasRegistryHost('127.0.0.1:5000/hello')).toBe(true);
    expect(hasRegistryHost('org/app')).toBe(false);
  });

  it('knows Docker Hub under all its names', () => {
    expect(['docker.io', 'index.docker.io', 'registry-1.docker.io'].every(isDockerHub)).toBe(true);
    expect(isDockerHub('ghcr.io')).toBe(false);
  });
});

describe('parseImageReference (validated, docker normalisation)', () => {
  it('splits host:port/repo:tag@digest', () => {
    expect(parseImageReference(`127.0.0.1:5000/team/app:v1@${DIGEST}`)).toEqual({ registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1', digest: DIGEST });
    expect(parseImageReference(`127.0.0.1:5000/team/app@${DIGEST}`)).toEqual({ registry: '127.0.0.1:5000', repository: 'team/app', tag: undefined, digest: DIGEST });
    expect(parseImageReference('127.0.0.1:5000/app')).toEqual({ registry: '127.0.0.1:5000', repository: 'app', tag: 'latest', digest: undefined });
  });

  it('applies the Docker Hub defaults (API host, library/, latest)', () => {
    expect(parseImageReference('busybox')).toEqual({ registry: 'registry-1.docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined });
    expect(parseImageReference('busybox:1.36')).toMatchObject({ registry: 'registry-1.docker.io', repository: 'library/busybox', tag: '1.36' });
    expect(parseImageReference('org/app')).toMatchObject({ registry: 'registry-1.docker.io', repository: 'org/app' });
    expect(parseImageReference('docker.io/busybox')).toMatchObject({ registry: 'registry-1.docker.io', repository: 'library/busybox' });
    expect(parseImageReference('index.docker.io/org/app:2')).toMatchObject({ registry: 'registry-1.docker.io', repository: 'org/app', tag: '2' });
    // The API host is taken as written, like docker does: no library/ added.
    expect(parseImageReference('registry-1.docker.io/busybox')).toMatchObject({ registry: 'registry-1.docker.io', repository: 'busybox' });
  });

  it('keeps localhost and loopback hosts, with or without a port', () => {
    expect(parseImageReference('localhost/x')).toMatchObject({ registry: 'localhost', repository: 'x', tag: 'latest' });
    expect(parseImageReference('localhost:5000/a/b:t')).toMatchObject({ registry: 'localhost:5000', repository: 'a/b', tag: 't' });
    expect(parseImageReference('  127.0.0.1:5000/x:1  ')).toMatchObject({ registry: '127.0.0.1:5000', repository: 'x', tag: '1' });
  });

  it('rejects uppercase names, bad tags and bad digests', () => {
    expect(() => parseImageReference('127.0.0.1:5000/Bad')).toThrow(/invalid repository/);
    expect(() => parseImageReference('Hello')).toThrow(/invalid repository/);
    expect(() => parseImageReference('a//b')).toThrow(/invalid repository/);
    expect(() => parseImageReference('x:-bad')).toThrow(/invalid tag/);
    expect(() => parseImageReference('x@sha256:abc')).toThrow(/invalid digest/);
    expect(() => parseImageReference(`x@md5:${'a'.repeat(64)}`)).toThrow(/invalid digest/);
  });
});

describe('splitImageReference (as written, no defaults)', () => {
  it('keeps the host in the repository and never mistakes a port for a tag', () => {
    expect(splitImageReference('127.0.0.1:5000/a/hello:v1')).toEqual({ repository: '127.0.0.1:5000/a/hello', tag: 'v1', digest: undefined });
    expect(splitImageReference('127.0.0.1:5000/hello')).toEqual({ repository: '127.0.0.1:5000/hello', tag: undefined, digest: undefined });
    expect(splitImageReference('hello')).toEqual({ repository: 'hello', tag: undefined, digest: undefined });
    expect(splitImageReference(`r/hello:t@${DIGEST}`)).toEqual({ repository: 'r/hello', tag: 't', digest: DIGEST });
    expect(splitImageReference(`r/hello@${DIGEST}`)).toEqual({ repository: 'r/hello', tag: undefined, digest: DIGEST });
  });

  it('takes the tag after the last ":" (the old render split took the first; a tag has no ":")', () => {
    expect(splitImageReference('hello:a:b')).toEqual({ repository: 'hello:a', tag: 'b', digest: undefined });
  });
});

describe('isRepositoryName', () => {
  it('accepts lowercase paths with an optional host, rejects the rest', () => {
    expect(isRepositoryName('hello')).toBe(true);
    expect(isRepositoryName('127.0.0.1:5000/team/hello')).toBe(true);
    expect(isRepositoryName('localhost/a.b_c-d')).toBe(true);
    expect(isRepositoryName('Hello')).toBe(false);
    expect(isRepositoryName('bad_host_:5000/x')).toBe(false);
    expect(isRepositoryName('a//b')).toBe(false);
  });
});

describe('sameImage', () => {
  const build = { repo: 'r.example/hello', tag: 't1', ref: 'r.example/hello:t1' };
  const pushed = { ...build, digest: DIGEST, ref: `r.example/hello:t1@${DIGEST}` };

  it('compares by digest when both have one, else repository and tag', () => {
    expect(sameImage('r.example/hello:t1', build)).toBe(true);
    expect(sameImage('r.example/hello', build)).toBe(false);
    expect(sameImage('r.example/hello:t2', build)).toBe(false);
    expect(sameImage(`r.example/hello@${DIGEST}`, pushed)).toBe(true);
    expect(sameImage(`r.example/hello:t1@sha256:${'b'.repeat(64)}`, pushed)).toBe(false);
    expect(sameImage('r.example/hello:t1', pushed)).toBe(true);
    expect(sameImage(`r.example/hello@${DIGEST}`, build)).toBe(false);
    expect(sameImage('r.example/hello2:t1', pushed)).toBe(false);
  });

  it('reads a host port as part of the repository, not as a tag', () => {
    const local = { repo: '127.0.0.1:5000/hello', tag: 'abc', ref: '127.0.0.1:5000/hello:abc' };
    expect(sameImage('127.0.0.1:5000/hello:abc', local)).toBe(true);
    expect(sameImage('127.0.0.1:5000/hello', local)).toBe(false);
  });
});

describe('isTaggedReferenceTo (container hooks before any build)', () => {
  it('matches the repository with a tag or digest, as the old prefix test did', () => {
    expect(isTaggedReferenceTo('127.0.0.1:5000/web:t1', '127.0.0.1:5000/web')).toBe(true);
    expect(isTaggedReferenceTo(`127.0.0.1:5000/web@${DIGEST}`, '127.0.0.1:5000/web')).toBe(true);
    expect(isTaggedReferenceTo('127.0.0.1:5000/web', '127.0.0.1:5000/web')).toBe(false);
    expect(isTaggedReferenceTo('127.0.0.1:5000/web2:t1', '127.0.0.1:5000/web')).toBe(false);
    expect(isTaggedReferenceTo('127.0.0.1:5000/web/sub:t1', '127.0.0.1:5000/web')).toBe(false);
  });
});
