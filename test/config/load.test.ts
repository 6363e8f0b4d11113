import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfigForCommand, loadConfigText, type LoadOptions } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\n';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devloop-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function load(text: string, options: Partial<LoadOptions> = {}) {
  return loadConfigText(text, {
    file: '/project/devloop.yaml',
    displayName: 'devloop.yaml',
    profiles: options.profiles ?? [],
    command: options.command ?? 'dev',
    overrides: options.overrides ?? {},
    env: options.env ?? {},
  });
}

const NO_ARTIFACT_HOOKS = { build: { before: [], after: [] }, sync: { before: [], after: [] } };

describe('defaults', () => {
  test('a minimal config gets every documented default', async () => {
    const loaded = await load(`${head}build:\n  artifacts:\n    - image: hello\n`);
    expect(loaded.config).toEqual({
      apiVersion: 'devloop/v1',
      kind: 'Config',
      metadata: { name: 'app' },
      build: {
        tagPolicy: 'inputDigest',
        defaultRepo: '',
        push: 'auto',
        insecureRegistries: [],
        concurrency: 2,
        platform: [],
        artifacts: [{ image: 'hello', context: '/project', docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [], hooks: NO_ARTIFACT_HOOKS }],
      },
      manifests: ['k8s/*.yaml'],
      render: { imagePaths: [] },
      deploy: { kubeContext: '', namespace: '', statusCheck: { timeout: 120_000 }, kustomize: { paths: [], binary: '' }, helm: { binary: '', releases: [] }, hooks: { before: [], after: [] } },
      portForward: [],
      profiles: [],
    });
    expect(loaded.activeProfiles).toEqual([]);
    expect(loaded.dir).toBe('/project');
  });

  test('oci artifacts get oci defaults and no docker section', async () => {
    const { config } = await load(`${head}build:\n  artifacts:\n    - image: a\n      context: sub/dir\n      oci:\n        layers: [{from: bin/app, to: /app, mode: 0o755}, {from: x, to: /x, mode: "0644"}]\n`);
    expect(config.build.artifacts[0]).toEqual({
      image: 'a',
      context: '/project/sub/dir',
      oci: {
        from: 'scratch',
        layers: [
          { from: 'bin/app', to: '/app', mode: 0o755 },
          { from: 'x', to: '/x', mode: 0o644 },
        ],
        entrypoint: [],
        cmd: [],
        env: {},
        workdir: '',
        user: '',
        ports: [],
        labels: {},
        platform: '',
        compression: 'auto',
        gzipLevel: 6,
      },
      sync: [],
      hooks: NO_ARTIFACT_HOOKS,
    });
  });

  test('an empty `docker:` means docker with defaults; compile gets empty inputs and env', async () => {
    const { config } = await load(`${head}build:\n  artifacts:\n    - image: a\n      docker:\n      compile: {command: make}\n`);
    expect(config.build.artifacts[0]!.docker).toEqual({ dockerfile: 'Dockerfile', buildArgs: {}, target: '' });
    expect(config.build.artifacts[0]!.compile).toEqual({ command: 'make', inputs: [], env: {} });
  });

  test.each([
    ['120s', 120_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
  ])('duration %s is %d ms', async (text, ms) => {
    const { config } = await load(`${head}deploy: {statusCheck: {timeout: ${text}}}\n`);
    expect(config.deploy.statusCheck.timeout).toBe(ms);
  });

  test('portForward gets the loopback address; tagPolicy templates and push booleans pass', async () => {
    const { config } = await load(
      `${head}build: {push: false, tagPolicy: {template: "{{.GIT}}-{{.DIGEST}}"}}\nportForward:\n  - {resource: service/hello, port: http, namespace: web}\n  - {resource: pod/p, port: 80, localPort: 9090, address: "::1"}\n`,
    );
    expect(config.build.push).toBe(false);
    expect(config.build.tagPolicy).toEqual({ template: '{{.GIT}}-{{.DIGEST}}' });
    expect(config.portForward).toEqual([
      { resource: 'service/hello', port: 'http', address: '127.0.0.1', namespace: 'web' },
      { resource: 'pod/p', port: 80, localPort: 9090, address: '::1' },
    ]);
  });

  test('images may carry a registry host', async () => {
    const { config } = await load(`${head}build:\n  artifacts:\n    - image: 127.0.0.1:5000/team/hello\n    - image: ghcr.io/x/y-z\n`);
    expect(config.build.artifacts.map((a) => a.image)).toEqual(['127.0.0.1:5000/team/hello', 'ghcr.io/x/y-z']);
  });
});

describe('interpolation', () => {
  test('${VAR}, ${VAR:-default} and $${ escapes in strings', async () => {
    const { config } = await load(
      `${head}build:\n  defaultRepo: \${REG}\n  artifacts:\n    - image: a\n      docker:\n        buildArgs: {A: "\${UNSET:-fallback}", B: "$\${HOME}", C: "x-\${NAME}-y", D: "\${EMPTY:-used}"}\n`,
      { env: { REG: '127.0.0.1:5000', NAME: 'n', EMPTY: '' } },
    );
    expect(config.build.defaultRepo).toBe('127.0.0.1:5000');
    expect(config.build.artifacts[0]!.docker!.buildArgs).toEqual({ A: 'fallback', B: '${HOME}', C: 'x-n-y', D: 'used' });
  });

  test('an unquoted substitution types like a literal; a quoted one stays text', async () => {
    const { config } = await load(`${head}build:\n  concurrency: \${N}\n  push: \${PUSH}\nportForward:\n  - {resource: service/a, port: "\${P}"}\n`, {
      env: { N: '4', PUSH: 'false', P: '80' },
    });
    expect(config.build.concurrency).toBe(4);
    expect(config.build.push).toBe(false);
    expect(config.portForward[0]!.port).toBe('80');
  });
});

describe('profiles', () => {
  const withProfiles = `${head}build:
  tagPolicy: inputDigest
  artifacts:
    - image: a
    - image: b
profiles:
  - name: ci
    activation: [{env: CI=true}]
    patches: [{op: replace, path: /build/tagPolicy, value: gitCommit}]
  - name: devmode
    activation: [{command: dev|run}]
    patches:
      - {op: add, path: /build/artifacts/-, value: {image: c}}
      - {op: remove, path: /build/artifacts/0}
  - name: kind
    activation: [{kubeContext: "kind-.*"}]
    patches:
      - {op: copy, from: /build/artifacts/0/image, path: /metadata/name}
      - {op: move, from: /build/tagPolicy, path: /build/oldTag}
  - name: testing
    patches:
      - {op: test, path: /kind, value: Config}
      - {op: add, path: /deploy, value: {namespace: t}}
`;

  test('env activation matches NAME=value exactly', async () => {
    expect((await load(withProfiles, { env: { CI: 'true' }, command: 'build' })).activeProfiles).toEqual(['ci']);
    expect((await load(withProfiles, { env: { CI: 'yes' }, command: 'build' })).activeProfiles).toEqual([]);
    expect((await load(withProfiles, { env: { CI: 'true' }, command: 'build' })).config.build.tagPolicy).toBe('gitCommit');
  });

  test('command activation with add (append) and remove', async () => {
    const loaded = await load(withProfiles, { command: 'run' });
    expect(loaded.activeProfiles).toEqual(['devmode']);
    expect(loaded.config.build.artifacts.map((a) => a.image)).toEqual(['b', 'c']);
    expect((await load(withProfiles, { command: 'build' })).activeProfiles).toEqual([]);
  });

  test('kubeContext activation (regex over the whole name) with copy and move; the override decides the context', async () => {
    const error = await load(withProfiles, { command: 'build', overrides: { kubeContext: 'kind-dev' } }).catch((e: unknown) => e);
    // moving tagPolicy to an unknown key is reported against the patch that put it there
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('devloop.yaml:22:9: build.oldTag: unknown key');
    expect((await load(withProfiles, { command: 'build', overrides: { kubeContext: 'xkind-dev' } })).activeProfiles).toEqual([]);
  });

  test('kubeContext activation reads the kubeconfig current context when nothing overrides it', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\ncurrent-context: kind-x\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\ncontexts: [{name: kind-x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n',
    );
    const text = `${head}profiles:\n  - name: kind\n    activation: [{kubeContext: "kind-.*"}]\n    patches: [{op: add, path: /deploy, value: {namespace: k}}]\n`;
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    try {
      const loaded = await load(text, { command: 'build' });
      expect(loaded.activeProfiles).toEqual(['kind']);
      expect(loaded.config.deploy.namespace).toBe('k');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  test('-p selects profiles explicitly; applied in file order with auto-activated ones', async () => {
    const loaded = await load(withProfiles, { profiles: ['testing'], command: 'dev', env: { CI: 'true' } });
    expect(loaded.activeProfiles).toEqual(['ci', 'devmode', 'testing']);
    expect(loaded.config.deploy.namespace).toBe('t');
    expect(loaded.config.deploy.statusCheck.timeout).toBe(120_000);
  });

  test('copy and move keep values (and their positions)', async () => {
    const text = `${head}build:\n  push: false\n  artifacts: [{image: a}]\ndeploy: {namespace: ns}\nprofiles:\n  - name: p\n    patches:\n      - {op: copy, from: /build/artifacts/0/image, path: /metadata/name}\n      - {op: move, from: /build/push, path: /build/concurrency}\n`;
    const error = await load(text, { profiles: ['p'] }).then(() => new ConfigError('INTERNAL', 'loaded without error'), (e: unknown) => e as ConfigError);
    // the moved `false` is now concurrency: reported where `false` was written
    expect(error.message).toBe('devloop.yaml:5:9: build.concurrency: expected an integer');
    const fixed = text.replace('push: false', 'push: 3');
    const loaded = await load(fixed, { profiles: ['p'] });
    expect(loaded.config.metadata.name).toBe('a');
    expect(loaded.config.build.concurrency).toBe(3);
    expect(loaded.config.build.push).toBe('auto');
  });

  test('replacing the whole document with path ""', async () => {
    const text = `${head}profiles:\n  - name: all\n    patches: [{op: replace, path: "", value: {apiVersion: devloop/v1, kind: Config, metadata: {name: other}}}]\n`;
    const loaded = await load(text, { profiles: ['all'] });
    expect(loaded.config.metadata.name).toBe('other');
    expect(loaded.config.profiles).toEqual([]);
  });
});

describe('overrides', () => {
  const text = `${head}build: {defaultRepo: 127.0.0.1:5000}\ndeploy: {kubeContext: file-ctx, namespace: file-ns}\n`;

  test('--default-repo beats DEVLOOP_DEFAULT_REPO beats the file', async () => {
    expect((await load(text)).config.build.defaultRepo).toBe('127.0.0.1:5000');
    expect((await load(text, { env: { DEVLOOP_DEFAULT_REPO: 'localhost:5001' } })).config.build.defaultRepo).toBe('localhost:5001');
    const both = await load(text, { env: { DEVLOOP_DEFAULT_REPO: 'localhost:5001' }, overrides: { defaultRepo: 'localhost:5002/team' } });
    expect(both.config.build.defaultRepo).toBe('localhost:5002/team');
  });

  test('--kube-context and --namespace beat the file', async () => {
    expect((await load(text)).config.deploy).toMatchObject({ kubeContext: 'file-ctx', namespace: 'file-ns' });
    expect((await load(text, { overrides: { kubeContext: 'c2', namespace: 'n2' } })).config.deploy).toMatchObject({ kubeContext: 'c2', namespace: 'n2' });
  });

  test('an invalid --default-repo is a config error naming the flag', async () => {
    const error = await load(text, { overrides: { defaultRepo: 'http://x' } }).then(() => new ConfigError('INTERNAL', 'loaded without error'), (e: unknown) => e as ConfigError);
    expect(error.message).toBe('--default-repo: invalid registry "http://x"');
    expect(error.exitCode).toBe(2);
  });
});

describe('files', () => {
  test('-f is relative to cwd; context resolves against the config file folder', async () => {
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', 'dl.yaml'), `${head}build:\n  artifacts:\n    - {image: a, context: app}\n`);
    const loaded = await loadConfigForCommand({ file: 'sub/dl.yaml', cwd: dir, profiles: [], command: 'build', overrides: {}, env: {} });
    expect(loaded.file).toBe(join(dir, 'sub', 'dl.yaml'));
    expect(loaded.dir).toBe(join(dir, 'sub'));
    expect(loaded.config.build.artifacts[0]!.context).toBe(join(dir, 'sub', 'app'));
  });

  test('errors name the file as the user gave it', async () => {
    await writeFile(join(dir, 'bad.yaml'), `${head}build: {concurrency: x}\n`);
    const error = await loadConfigForCommand({ file: 'bad.yaml', cwd: dir, profiles: [], command: 'build', overrides: {}, env: {} }).then(() => new ConfigError('INTERNAL', 'loaded without error'), (e: unknown) => e as ConfigError);
    expect(error.message).toBe('bad.yaml:4:22: build.concurrency: expected an integer');
  });

  test('a missing file names it and suggests devloop init', async () => {
    const error = await loadConfigForCommand({ file: 'nope.yaml', cwd: dir, profiles: [], command: 'build', overrides: {}, env: {} }).then(() => new ConfigError('INTERNAL', 'loaded without error'), (e: unknown) => e as ConfigError);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('nope.yaml: config file not found');
    expect(error.hint).toContain('devloop init');
  });

  test('the bundled root devloop.yaml loads', async () => {
    const loaded = await loadConfigForCommand({ file: 'devloop.yaml', cwd: process.cwd(), profiles: [], command: 'run', overrides: {}, env: {} });
    expect(loaded.config.build.artifacts.map((a) => a.image)).toEqual(['hello', 'quote']);
    expect(loaded.config.build.artifacts[0]!.context).toBe(join(process.cwd(), 'examples/hello/hello'));
  });

  test('the parsed file is kept in .devloop/config-tree.json: used while the text is the same, before interpolation, with positions', async () => {
    const project = join(dir, 'cached');
    await mkdir(project, { recursive: true });
    const text = `${head}build:\n  defaultRepo: \${REPO}\n  concurrency: 2\n`;
    await writeFile(join(project, 'devloop.yaml'), text);
    const options = { file: 'devloop.yaml', cwd: project, profiles: [], command: 'build', overrides: {} };
    const first = await loadConfigForCommand({ ...options, env: { REPO: 'registry.example/secret-team' } });
    expect(first.config.build.defaultRepo).toBe('registry.example/secret-team');
    const cacheFile = join(project, '.devloop', 'config-tree.json');
    const cached = await readFile(cacheFile, 'utf8');
    expect(cached).toContain('${REPO}');
    expect(cached).not.toContain('secret-team'); // no value of the environment
    // The cache is what a second run reads: a tree edited in it (same key) shows.
    await writeFile(cacheFile, cached.replace('"scalar":2', '"scalar":3'));
    expect((await loadConfigForCommand({ ...options, env: { REPO: 'r.example/b' } })).config.build).toMatchObject({ defaultRepo: 'r.example/b', concurrency: 3 });
    // A changed file is parsed again; errors from a cached tree keep their line and column.
    await writeFile(join(project, 'devloop.yaml'), text.replace('concurrency: 2', 'concurrency: x'));
    const failure = (): Promise<ConfigError> => loadConfigForCommand({ ...options, env: { REPO: 'r.example/b' } }).then(() => new ConfigError('INTERNAL', 'loaded'), (e: unknown) => e as ConfigError);
    expect((await failure()).message).toBe('devloop.yaml:6:16: build.concurrency: expected an integer');
    expect(await readFile(cacheFile, 'utf8')).toContain('"scalar":"x"');
    expect((await failure()).message).toBe('devloop.yaml:6:16: build.concurrency: expected an integer');
    // A damaged cache is parsed again and replaced.
    await writeFile(cacheFile, '{not json');
    expect((await failure()).message).toBe('devloop.yaml:6:16: build.concurrency: expected an integer');
    expect(JSON.parse(await readFile(cacheFile, 'utf8'))).toHaveProperty('key');
  });
});
