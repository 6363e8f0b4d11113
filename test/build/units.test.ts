/** The build stages' parts that need no Docker: compile, cache, destinations, load commands, output parsing. */
import { afterEach, describe, expect, it } from 'vitest';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactConfig } from '../../src/config/types.js';
import type { DevloopEventBody } from '../../src/events/types.js';
import { runCompile, CommandFailedError } from '../../src/compile/index.js';
import { ArtifactCacheStore, cacheKey, type CacheEntry } from '../../src/build/cache.js';
import { chooseDestination, loadCommand, loadIntoCluster, parseDockerEnv, currentContextLight } from '../../src/build/load.js';
import { classifyDockerFailure, parsePullFailure, parsePushDigest } from '../../src/build/docker/output.js';
import { dockerBuildArgs } from '../../src/build/docker/index.js';
import { parsePushFlag } from '../../src/cli/commands/build.js';
import { removeTemps, tempDir as tempSupportDir } from '../support/tmp.js';

afterEach(removeTemps);
const tempDir = (): Promise<string> => tempSupportDir('devloop-build-unit-');
function recorder(): { events: DevloopEventBody[]; emit: (e: DevloopEventBody) => void } {
  const events: DevloopEventBody[] = [];
  return { events, emit: (e) => events.push(e) };
}
function artifact(context: string, command: string[] | string, env: Record<string, string> = {}): ArtifactConfig {
  return { image: 'hello', context, compile: { command, inputs: [], env }, docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [] };
}

describe('compile', () => {
  it('runs the array form without a shell, in the context, with env, streaming log events', async () => {
    const dir = await tempDir();
    const { events, emit } = recorder();
    await runCompile({ artifact: artifact(dir, ['sh', '-c', 'echo "$GREETING from $(pwd)"; echo oops >&2', 'x'], { GREETING: 'hi' }), emit, signal: new AbortController().signal });
    const logs = events.filter((e) => e.type === 'log');
    expect(logs).toContainEqual(expect.objectContaining({ artifact: 'hello', stage: 'compile', stream: 'stdout', line: `hi from ${dir}` }));
    expect(logs).toContainEqual(expect.objectContaining({ stream: 'stderr', line: 'oops' }));
    // No shell: metacharacters reach the program as they are.
    const literal = recorder();
    await runCompile({ artifact: artifact(dir, ['echo', '$HOME;', '|']), emit: literal.emit, signal: new AbortController().signal });
    expect(literal.events).toContainEqual(expect.objectContaining({ type: 'log', line: '$HOME; |' }));
  });

  it('reports a missing command (array and string form) naming the artifact', async () => {
    const dir = await tempDir();
    const signal = new AbortController().signal;
    const { emit } = recorder();
    await expect(runCompile({ artifact: artifact(dir, ['no-such-compiler-xyz', 'build']), emit, signal })).rejects.toMatchObject({
      code: 'COMPILE_NOT_FOUND',
      message: 'hello: compile command "no-such-compiler-xyz" not found',
    });
    await expect(runCompile({ artifact: artifact(dir, 'no-such-compiler-xyz build'), emit, signal })).rejects.toMatchObject({ code: 'COMPILE_NOT_FOUND' });
  });

  it('reports a failure with the command, exit code and last output lines', async () => {
    const dir = await tempDir();
    const script = 'for i in $(seq 1 30); do echo line $i; done; echo "main.go:3: undefined: x" >&2; exit 3';
    const error = await runCompile({ artifact: artifact(dir, script), emit: () => {}, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    const failure = error as CommandFailedError;
    expect(failure.code).toBe('COMPILE_FAILED');
    expect(failure.message).toContain('hello: compile "for i in');
    expect(failure.message).toContain('failed with exit code 3: main.go:3: undefined: x');
    expect(failure.message).not.toContain('\n');
    expect(failure.outputTail).toHaveLength(20);
    expect(failure.outputTail.at(-1)).toBe('main.go:3: undefined: x');
  });

  it('kills the child on abort', async () => {
    const dir = await tempDir();
    const abort = new AbortController();
    const started = performance.now();
    const running = runCompile({ artifact: artifact(dir, ['sleep', '30']), emit: () => {}, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    await expect(running).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('artifact cache', () => {
  const entry: CacheEntry = { image: 'hello', repo: '127.0.0.1:5000/hello', tag: 'abc', digest: 'sha256:' + 'a'.repeat(64), builtAt: '2024-01-01T00:00:00Z' };

  it('keys on input digest, policy, repo, destination and tag', () => {
    const parts = { inputDigest: 'sha256:1', tagPolicy: 'inputDigest' as const, repo: 'r/hello', builder: 'docker' as const, destination: 'registry', tag: 't' };
    const key = cacheKey(parts);
    expect(cacheKey({ ...parts })).toBe(key);
    for (const change of [{ inputDigest: 'sha256:2' }, { tagPolicy: 'gitCommit' as const }, { repo: 'other/hello' }, { destination: 'local' }, { tag: 'u' }]) {
      expect(cacheKey({ ...parts, ...change })).not.toBe(key);
    }
  });

  it('round-trips entries through .devloop/cache.json', async () => {
    const dir = await tempDir();
    const store = await ArtifactCacheStore.open(dir, () => {});
    await store.put('k1', entry);
    const again = await ArtifactCacheStore.open(dir, () => {});
    expect(again.get('k1')).toEqual(entry);
    expect(JSON.parse(await readFile(join(dir, '.devloop', 'cache.json'), 'utf8'))).toMatchObject({ version: 1 });
  });

  it('a corrupt file is a warning and an empty cache, then rewritten', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, '.devloop'));
    await writeFile(join(dir, '.devloop', 'cache.json'), '{"version":1,"entries":{"k1":{"repo":');
    const { events, emit } = recorder();
    const store = await ArtifactCacheStore.open(dir, emit);
    expect(store.get('k1')).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ type: 'notice', level: 'warn', message: expect.stringContaining('.devloop/cache.json') }));
    await store.put('k2', entry);
    expect((await ArtifactCacheStore.open(dir, () => {})).get('k2')).toEqual(entry);
  });

  it('a failing write (disk full) is one warning; the old file stays whole', async () => {
    const dir = await tempDir();
    await (await ArtifactCacheStore.open(dir, () => {})).put('old', entry);
    const before = await readFile(join(dir, '.devloop', 'cache.json'), 'utf8');
    const { events, emit } = recorder();
    const diskFull = async (): Promise<void> => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    const store = await ArtifactCacheStore.open(dir, emit, diskFull);
    await store.put('new1', entry);
    await store.put('new2', entry);
    const warnings = events.filter((e) => e.type === 'notice');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('ENOSPC'), hint: expect.stringContaining('disk is full') });
    expect(await readFile(join(dir, '.devloop', 'cache.json'), 'utf8')).toBe(before);
  });

  it('a read-only .devloop folder is a warning, not a crash, and leaves no temp file', async () => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions: use a path whose parent is a file instead.
      const dir = await tempDir();
      await writeFile(join(dir, '.devloop'), 'not a folder');
      const { events, emit } = recorder();
      await (await ArtifactCacheStore.open(dir, emit)).put('k', entry);
      expect(events).toContainEqual(expect.objectContaining({ type: 'notice', level: 'warn' }));
      return;
    }
    const dir = await tempDir();
    await mkdir(join(dir, '.devloop'));
    await chmod(join(dir, '.devloop'), 0o555);
    const { events, emit } = recorder();
    await (await ArtifactCacheStore.open(dir, emit)).put('k', entry);
    expect(events).toContainEqual(expect.objectContaining({ type: 'notice', level: 'warn' }));
    expect(await readdir(join(dir, '.devloop'))).toEqual([]);
    await chmod(join(dir, '.devloop'), 0o755);
  });
});

describe('push or load', () => {
  it('chooses the destination from push mode, --push and the kube context', () => {
    expect(chooseDestination('auto', undefined, 'kind-dev')).toEqual({ kind: 'kind', cluster: 'dev' });
    expect(chooseDestination('auto', undefined, 'k3d-my-cluster')).toEqual({ kind: 'k3d', cluster: 'my-cluster' });
    expect(chooseDestination('auto', undefined, 'minikube')).toEqual({ kind: 'minikube', profile: 'minikube' });
    expect(chooseDestination('auto', undefined, 'docker-desktop')).toEqual({ kind: 'local', reason: 'docker-desktop' });
    expect(chooseDestination('auto', undefined, 'gke_project_zone_prod')).toEqual({ kind: 'registry' });
    expect(chooseDestination('auto', undefined, '')).toEqual({ kind: 'registry' });
    expect(chooseDestination('auto', false, 'kind-dev')).toEqual({ kind: 'local', reason: 'push disabled' });
    expect(chooseDestination(false, undefined, 'prod')).toEqual({ kind: 'local', reason: 'push disabled' });
    expect(chooseDestination(true, undefined, 'kind-dev')).toEqual({ kind: 'registry' });
    expect(chooseDestination(false, true, 'kind-dev')).toEqual({ kind: 'registry' });
  });

  it('builds the kind and k3d command lines', () => {
    expect(loadCommand({ kind: 'kind', cluster: 'dev' }, 'r/hello:t')).toEqual(['kind', 'load', 'docker-image', '--name', 'dev', 'r/hello:t']);
    expect(loadCommand({ kind: 'k3d', cluster: 'c1' }, 'r/hello:t')).toEqual(['k3d', 'image', 'import', '-c', 'c1', 'r/hello:t']);
    expect(loadCommand({ kind: 'registry' }, 'r/hello:t')).toBeUndefined();
  });

  it('runs kind/k3d from PATH and reports a failing or missing tool', async () => {
    const bin = await tempDir();
    const record = join(bin, 'argv.txt');
    for (const tool of ['kind', 'k3d']) {
      await writeFile(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> ${record}\necho loading\n`, { mode: 0o755 });
    }
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const { events, emit } = recorder();
      const ctx = { image: 'hello', emit, signal: new AbortController().signal };
      await loadIntoCluster({ kind: 'kind', cluster: 'dev' }, 'r/hello:t1', ctx);
      await loadIntoCluster({ kind: 'k3d', cluster: 'c1' }, 'r/hello:t1', ctx);
      expect((await readFile(record, 'utf8')).trim().split('\n')).toEqual(['kind load docker-image --name dev r/hello:t1', 'k3d image import -c c1 r/hello:t1']);
      expect(events).toContainEqual(expect.objectContaining({ type: 'log', stage: 'push', line: 'loading' }));

      await writeFile(join(bin, 'kind'), '#!/bin/sh\necho "ERROR: no nodes found for cluster" >&2\nexit 1\n', { mode: 0o755 });
      await expect(loadIntoCluster({ kind: 'kind', cluster: 'gone' }, 'r/hello:t1', ctx)).rejects.toMatchObject({
        code: 'LOAD_FAILED',
        message: expect.stringContaining('hello: `kind load docker-image --name gone r/hello:t1` failed with exit code 1: ERROR: no nodes found'),
      });
      await rm(join(bin, 'k3d'));
      await expect(loadIntoCluster({ kind: 'k3d', cluster: 'c1' }, 'r/hello:t1', ctx)).rejects.toMatchObject({ code: 'LOAD_TOOL_NOT_FOUND' });
    } finally {
      process.env.PATH = oldPath;
    }
  });

  it('parses minikube docker-env output in both shells', () => {
    expect(parseDockerEnv('DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://127.0.0.1:32770\n')).toEqual({ DOCKER_TLS_VERIFY: '1', DOCKER_HOST: 'tcp://127.0.0.1:32770' });
    expect(parseDockerEnv('export DOCKER_HOST="tcp://127.0.0.1:32770"\n# To point your shell…\n')).toEqual({ DOCKER_HOST: 'tcp://127.0.0.1:32770' });
  });

  it('reads the current context from $KUBECONFIG without the Kubernetes client', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a'), 'apiVersion: v1\nkind: Config\ncontexts: []\n');
    await writeFile(join(dir, 'b'), 'current-context: kind-dev\n');
    await writeFile(join(dir, 'c'), 'current-context: other\n');
    expect(await currentContextLight({ KUBECONFIG: `${join(dir, 'a')}:${join(dir, 'b')}:${join(dir, 'c')}` })).toBe('kind-dev');
    expect(await currentContextLight({ KUBECONFIG: join(dir, 'missing') })).toBe('');
  });

  it('parses --push', () => {
    expect(parsePushFlag(undefined)).toBeUndefined();
    expect(parsePushFlag('false')).toBe(false);
    expect(parsePushFlag('TRUE')).toBe(true);
    expect(() => parsePushFlag('maybe')).toThrowError(/--push must be true or false/);
  });
});

describe('docker output', () => {
  it('finds the pushed digest', () => {
    expect(parsePushDigest(['abc: Pushed', `t1: digest: sha256:${'b'.repeat(64)} size: 735`])).toBe(`sha256:${'b'.repeat(64)}`);
    expect(parsePushDigest(['nothing'])).toBeUndefined();
  });

  it('classifies failures', () => {
    expect(classifyDockerFailure(['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'])).toBe('daemon');
    expect(classifyDockerFailure(['Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'])).toBe('unreachable');
    expect(classifyDockerFailure(['received unexpected HTTP status: 500 Internal Server Error'])).toBe('server');
    expect(classifyDockerFailure(['unauthorized: authentication required'])).toBe('auth');
    expect(classifyDockerFailure(['http: server gave HTTP response to HTTPS client'])).toBe('https');
    expect(classifyDockerFailure(['COPY failed: file not found'])).toBe('other');
  });

  it('finds a failed pull of an image the Dockerfile names, with the host that failed (classic builder)', () => {
    expect(parsePullFailure(['Step 1/2 : FROM 127.0.0.1:1/x:1', 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'])).toMatchObject({
      image: '127.0.0.1:1/x:1',
      host: '127.0.0.1:1',
      problem: 'unreachable',
      reason: 'connection refused',
    });
    expect(parsePullFailure(['Step 1/2 : FROM 127.0.0.1:5000/nope:1', 'manifest for 127.0.0.1:5000/nope:1 not found: manifest unknown: manifest unknown'])).toMatchObject({
      image: '127.0.0.1:5000/nope:1',
      host: '127.0.0.1:5000',
      problem: 'not-found',
    });
    expect(parsePullFailure(['Step 1/3 : FROM nope', "pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"])).toMatchObject({
      image: 'nope',
      host: 'docker.io',
      problem: 'denied',
    });
    // The classic builder echoes the FROM line as written: build args are filled in.
    expect(parsePullFailure(['Step 1/4 : FROM ${BASE}', 'Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused'], { BASE: '127.0.0.1:9/b:1' })).toMatchObject({
      image: '127.0.0.1:9/b:1',
      host: '127.0.0.1:9',
    });
    expect(parsePullFailure(['Step 1/2 : FROM ${REG:-127.0.0.1:9}/b:$TAG', 'Get "http://127.0.0.1:9/v2/": EOF'], { TAG: '2' })).toMatchObject({ image: '127.0.0.1:9/b:2' });
    expect(parsePullFailure(['Step 1/2 : FROM 10.1.2.3:5000/x', 'Get "https://10.1.2.3:5000/v2/": http: server gave HTTP response to HTTPS client'])).toMatchObject({ host: '10.1.2.3:5000', problem: 'https' });
    expect(parsePullFailure(['Step 2/3 : COPY --from=127.0.0.1:1/tools:1 /t /t', 'invalid from flag value 127.0.0.1:1/tools:1: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'])).toMatchObject({
      image: '127.0.0.1:1/tools:1',
      problem: 'unreachable',
    });
  });

  it('finds a failed pull in BuildKit output, naming the failing host (a token server too)', () => {
    expect(
      parsePullFailure([
        '#2 [internal] load metadata for 127.0.0.1:1/x:1',
        '#2 ERROR: failed to do request: Head "http://127.0.0.1:1/v2/x/manifests/1": dial tcp 127.0.0.1:1: connect: connection refused',
        '------',
        ' > [internal] load metadata for 127.0.0.1:1/x:1:',
        '------',
        'ERROR: failed to solve: 127.0.0.1:1/x:1: failed to resolve source metadata for 127.0.0.1:1/x:1: failed to do request: Head "http://127.0.0.1:1/v2/x/manifests/1": dial tcp 127.0.0.1:1: connect: connection refused',
      ]),
    ).toMatchObject({ image: '127.0.0.1:1/x:1', host: '127.0.0.1:1', problem: 'unreachable', reason: 'connection refused' });
    expect(
      parsePullFailure([
        'ERROR: failed to solve: python:3.10-slim: failed to resolve source metadata for docker.io/library/python:3.10-slim: failed to authorize: failed to fetch anonymous token: Get "https://auth.docker.io/token?scope=repository%3Alibrary%2Fpython%3Apull&service=registry.docker.io": dial tcp: lookup auth.docker.io on 127.0.0.53:53: read udp 127.0.0.1:46706->127.0.0.53:53: i/o timeout',
      ]),
    ).toMatchObject({ image: 'docker.io/library/python:3.10-slim', host: 'auth.docker.io', problem: 'unreachable', reason: 'i/o timeout' });
    expect(
      parsePullFailure(['ERROR: failed to solve: 127.0.0.1:5000/nope:1: failed to resolve source metadata for 127.0.0.1:5000/nope:1: 127.0.0.1:5000/nope:1: not found']),
    ).toMatchObject({ image: '127.0.0.1:5000/nope:1', host: '127.0.0.1:5000', problem: 'not-found' });
    expect(
      parsePullFailure([
        ' > [internal] load metadata for docker.io/nvidia/cuda:11.2.0:',
        'ERROR: failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "https://registry-1.docker.io/v2/nvidia/cuda/manifests/11.2.0": dial tcp: lookup registry-1.docker.io: Temporary failure in name resolution',
      ]),
    ).toMatchObject({ image: 'docker.io/nvidia/cuda:11.2.0', host: 'registry-1.docker.io', problem: 'unreachable' });
  });

  it('a build step that fails on the network is not a pull failure (and never a registry one)', () => {
    const classic = [
      'Step 2/3 : RUN wget -q -O- http://127.0.0.1:1/ || exit 4',
      ' ---> Running in ed6167889bea',
      "\u001b[91mwget: can't connect to remote host (127.0.0.1): Connection refused",
      "The command '/bin/sh -c wget -q -O- http://127.0.0.1:1/ || exit 4' returned a non-zero code: 4",
      '\u001b[0m',
    ];
    expect(parsePullFailure(classic)).toBeUndefined();
    const buildkit = [
      '#5 [2/2] RUN false',
      '#5 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
      '------',
      ' > [2/2] RUN false:',
      '------',
      'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ];
    expect(parsePullFailure(buildkit)).toBeUndefined();
    expect(parsePullFailure(['Step 1/2 : FROM scratch', 'Step 2/2 : COPY a /a', 'COPY failed: file not found'])).toBeUndefined();
  });

  it('builds the docker build command line', () => {
    const a: ArtifactConfig = { image: 'hello', context: '/p/hello', docker: { dockerfile: 'build/Dockerfile', buildArgs: { Z: '1', BASE: 'busybox' }, target: 'run' }, sync: [] };
    expect(dockerBuildArgs({ artifact: a, repo: 'r/hello', tag: 't' }, { buildkit: false, iidFile: '/tmp/iid' })).toEqual([
      'build', '--file', '/p/hello/build/Dockerfile', '--tag', 'r/hello:t', '--iidfile', '/tmp/iid',
      '--build-arg', 'BASE=busybox', '--build-arg', 'Z=1', '--target', 'run', '/p/hello',
    ]);
    expect(dockerBuildArgs({ artifact: a, repo: 'r/hello', tag: 't' }, { buildkit: true, iidFile: '/tmp/iid' }).slice(0, 4)).toEqual(['buildx', 'build', '--load', '--progress=plain']);
  });
});
