/**
 * The devloop.yaml v1 contract as data: every key, its type, default and one line of documentation.
 * Validation, defaults and the config reference all come from here.
 */
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { CheckContext, Field, Schema } from './validate.js';
import { checkAbsolutePath, checkContainerDir, checkDefaultRepo, checkInsideContext, checkDnsLabel, checkForwardResource, checkImageName } from './names.js';

export const COMMANDS = ['init', 'diagnose', 'build', 'render', 'deploy', 'run', 'dev', 'delete'] as const;

const str = (extra: Omit<Extract<Schema, { type: 'string' }>, 'type'> = {}): Schema => ({ type: 'string', ...extra });
const list = (items: Schema): Schema => ({ type: 'list', items });
const stringMap: Schema = { type: 'stringMap' };
const port: Schema = { type: 'integer', min: 1, max: 65535 };
const field = (schema: Schema, doc: string, extra: Omit<Field, 'schema' | 'doc'> = {}): Field => ({ schema, doc, ...extra });

/** `command` of compile, custom builds and hooks: a shell string, or an argv list (run without a shell). */
const commandSchema: Schema = { type: 'union', options: [str({ nonEmpty: true }), list(str())], expected: 'a command string or a list of arguments' };
/** The `finish` of an object with a `command`: an empty argv list names nothing to run. */
const rejectEmptyCommand = (value: Record<string, unknown>, ctx: CheckContext): Record<string, unknown> => {
  if (Array.isArray(value.command) && value.command.length === 0) ctx.report(['command'], { message: 'must not be an empty list' });
  return value;
};

const compileSchema: Schema = {
  type: 'object',
  fields: {
    command: field(
      commandSchema,
      'array: run without a shell; string: run by /bin/sh -c',
      { required: true },
    ),
    inputs: field(list(str({ nonEmpty: true })), 'globs (relative to context) whose changes trigger a compile; empty: every non-ignored file', { default: [] }),
    env: field(stringMap, 'extra environment variables', { default: {} }),
  },
  finish: rejectEmptyCommand,
};

const dockerSchema: Schema = {
  type: 'object',
  fields: {
    dockerfile: field(str({ nonEmpty: true }), 'path relative to the context', { default: 'Dockerfile' }),
    buildArgs: field(stringMap, '--build-arg values', { default: {} }),
    target: field(str(), 'multi-stage target; empty: the last stage', { default: '' }),
  },
};

export function checkPlatform(p: string): { message: string; hint: string } | undefined {
  return /^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/.test(p) ? undefined : { message: `invalid platform "${p}"`, hint: 'write os/arch[/variant], e.g. linux/amd64' };
}

const ociLayerSchema: Schema = {
  type: 'object',
  fields: {
    from: field(str({ nonEmpty: true }), 'path or glob inside the context', { required: true }),
    to: field(str({ check: checkAbsolutePath }), 'absolute path in the image', { required: true }),
    mode: field({ type: 'fileMode' }, 'file mode (0o755 or "0755"); default: keep the executable bit'),
  },
};

const ociSchema: Schema = {
  type: 'object',
  fields: {
    from: field(str({ nonEmpty: true }), 'base image in a registry, or scratch', { default: 'scratch' }),
    layers: field(list(ociLayerSchema), 'files to add, one layer each', { default: [] }),
    entrypoint: field(list(str()), 'image entrypoint', { default: [] }),
    cmd: field(list(str()), 'image command', { default: [] }),
    env: field(stringMap, 'image environment', { default: {} }),
    workdir: field(str(), 'working directory; empty: the base image\'s', { default: '' }),
    user: field(str({ coerce: true }), 'user (name or uid[:gid]); empty: the base image\'s', { default: '' }),
    ports: field(list(port), 'exposed ports', { default: [] }),
    labels: field(stringMap, 'image labels', { default: {} }),
    platform: field(str({ check: (p) => (p === '' ? undefined : checkPlatform(p)) }), 'os/arch[/variant]; empty: the target platforms (build.platform, else the nodes\'), one image each', { default: '' }),
    compression: field(
      str({ enum: ['auto', 'gzip', 'none'] }),
      'layer compression; auto: none for a loopback registry or an unpushed image, gzip otherwise',
      { default: 'auto' },
    ),
    gzipLevel: field({ type: 'integer', min: 1, max: 9 }, 'gzip level when layers are gzip\'d (1 fastest, 9 smallest)', { default: 6 }),
  },
};

const customSchema: Schema = {
  type: 'object',
  fields: {
    command: field(
      commandSchema,
      'your build script; array: run without a shell; string: run by /bin/sh -c; runs in the context',
      { required: true },
    ),
    inputs: field(list(str({ nonEmpty: true })), 'globs (relative to context) the script reads, for the cache and watching; empty: every non-ignored file', { default: [] }),
    env: field(stringMap, 'extra environment variables', { default: {} }),
    timeout: field({ type: 'duration' }, 'the build fails when the script runs longer', { default: '30m' }),
  },
  finish: rejectEmptyCommand,
};

const syncSchema: Schema = {
  type: 'object',
  fields: {
    src: field(str({ nonEmpty: true, check: checkInsideContext }), 'glob relative to the context (never outside it)', { required: true }),
    dest: field(str({ check: checkContainerDir }), 'absolute directory in the container (no `..`)', { required: true }),
    restart: field({ type: 'boolean' }, 'devloop dev: restart the container\'s process after copying (live update; the files may be compile outputs)', { default: false }),
  },
};


const hookSchema: Schema = {
  type: 'object',
  fields: {
    name: field(str({ nonEmpty: true }), 'shown in events and errors; default: where it is, e.g. deploy.after[0]'),
    command: field(
      commandSchema,
      'array: run without a shell; string: run by sh -c (on the host, or in the container)',
      { required: true },
    ),
    runIn: field(str({ enum: ['host', 'containers'] }), 'host, or the running containers of an artifact (through exec)', { default: 'host' }),
    artifact: field(str({ nonEmpty: true }), 'runIn containers: whose containers (image name); default: the artifact the hook belongs to'),
    env: field(stringMap, 'extra environment (host hooks)', { default: {} }),
    timeout: field({ type: 'duration' }, 'the hook fails when it runs longer', { default: '60s' }),
    nonFatal: field({ type: 'boolean' }, 'after hooks only: a failure is a warning, the iteration goes on', { default: false }),
  },
  finish: rejectEmptyCommand,
};

/** Container hooks must name an artifact of this config (deploy hooks have none of their own). */
function checkHookArtifacts(config: Record<string, unknown>, ctx: CheckContext): void {
  type Hooks = { before?: { runIn?: string; artifact?: string }[]; after?: { runIn?: string; artifact?: string }[] };
  const artifacts = ((config.build as { artifacts?: { image?: string; hooks?: Record<string, Hooks> }[] } | undefined)?.artifacts ?? []).filter(Boolean);
  const images = artifacts.map((a) => a.image).filter((i): i is string => typeof i === 'string');
  const check = (hooks: Hooks | undefined, at: (string | number)[], own: boolean): void => {
    for (const when of ['before', 'after'] as const) {
      hooks?.[when]?.forEach((hook, index) => {
        if (hook?.runIn !== 'containers') return;
        if (hook.artifact === undefined && !own) {
          ctx.report([...at, when, index], { message: 'a container hook here must name its artifact', hint: `add \`artifact:\` (one of ${images.join(', ') || 'no artifacts yet'})` });
        } else if (hook.artifact !== undefined && !images.includes(hook.artifact)) {
          ctx.report([...at, when, index, 'artifact'], { message: `no artifact "${hook.artifact}"`, hint: `artifacts: ${images.join(', ') || 'none'}` });
        }
      });
    }
  };
  check((config.deploy as { hooks?: Hooks } | undefined)?.hooks, ['deploy', 'hooks'], false);
  artifacts.forEach((artifact, i) => {
    for (const phase of ['build', 'sync']) check(artifact.hooks?.[phase], ['build', 'artifacts', i, 'hooks', phase], true);
  });
}

function hooksSchema(kind: string): Schema {
  const phase = (when: string): Field =>
    field(list(hookSchema), `hooks run ${when} ${kind}`, { default: [] });
  return {
    type: 'object',
    fields: { before: phase('before'), after: phase('after') },
    finish: (value, ctx) => {
      (value.before as { nonFatal?: boolean }[] | undefined)?.forEach((hook, index) => {
        if (hook?.nonFatal) ctx.report(['before', index, 'nonFatal'], { message: 'only after hooks can be non-fatal', hint: 'a failing before hook always stops the iteration' });
      });
      return value;
    },
  };
}

const artifactSchema: Schema = {
  type: 'object',
  fields: {
    image: field(str({ check: checkImageName }), 'image name as written in the manifests', { required: true }),
    context: field(str({ nonEmpty: true }), 'build context, relative to the config file', { default: '.' }),
    compile: field(compileSchema, 'command run in the context before the image build'),
    docker: field(dockerSchema, 'Docker CLI builder (the default)'),
    oci: field(ociSchema, 'daemonless OCI builder'),
    custom: field(customSchema, 'your own build script (Bazel, pack, Jib, ko…)'),
    sync: field(list(syncSchema), 'files copied into running containers instead of rebuilding', { default: [] }),
    hooks: field(
      { type: 'object', fields: { build: field(hooksSchema('the build of this artifact'), 'around compile + image build', { default: {} }), sync: field(hooksSchema('a file sync into this artifact'), 'around file sync', { default: {} }) } },
      'lifecycle hooks of this artifact',
      { default: {} },
    ),
  },
  finish: (value, ctx) => {
    const builders = (['docker', 'oci', 'custom'] as const).filter((b) => value[b] !== undefined);
    if (builders.length > 1) {
      ctx.report([builders[1]!], { message: `set either ${builders[0]} or ${builders[1]}, not both`, hint: 'an artifact has exactly one builder: docker, oci or custom' }, true);
    }
    const context = typeof value.context === 'string' ? value.context : '.';
    const out: Record<string, unknown> = { ...value, context: isAbsolute(context) ? context : resolve(ctx.dir, context) };
    if (builders.length === 0) out.docker = { dockerfile: 'Dockerfile', buildArgs: {}, target: '' };
    return out;
  },
};

const tagPolicySchema: Schema = {
  type: 'union',
  options: [
    str({ enum: ['inputDigest', 'gitCommit', 'dateTime'] }),
    { type: 'object', fields: { template: field(str({ nonEmpty: true }), 'e.g. "{{.GIT}}-{{.DIGEST}}"', { required: true }) } },
  ],
  expected: 'inputDigest, gitCommit, dateTime or {template: …}',
};

const buildSchema: Schema = {
  type: 'object',
  fields: {
    tagPolicy: field(tagPolicySchema, 'how image tags are computed', { default: 'inputDigest' }),
    defaultRepo: field(str({ check: checkDefaultRepo }), 'registry prefix for images; also --default-repo, DEVLOOP_DEFAULT_REPO', { default: '' }),
    push: field(
      { type: 'union', options: [str({ enum: ['auto'] }), { type: 'boolean' }], expected: 'auto, true or false' },
      'auto: load into kind/k3d/minikube, else push',
      { default: 'auto' },
    ),
    insecureRegistries: field(list(str({ nonEmpty: true })), 'plain-HTTP registries besides loopback ones', { default: [] }),
    concurrency: field({ type: 'integer', min: 1, max: 64 }, 'artifacts built at once', { default: 2 }),
    platform: field(
      { type: 'union', options: [str({ check: checkPlatform }), list(str({ check: checkPlatform }))], expected: 'os/arch or a list of them' },
      'target platforms; empty: the architectures of the cluster\'s nodes; also --platform',
      { default: [] },
    ),
    artifacts: field(list(artifactSchema), 'images to build', { default: [] }),
  },
  finish: (value, ctx) => {
    const seen = new Map<string, number>();
    (value.artifacts as ({ image?: string } | undefined)[] | undefined)?.forEach((artifact, index) => {
      if (!artifact?.image) return;
      const first = seen.get(artifact.image);
      if (first === undefined) seen.set(artifact.image, index);
      else ctx.report(['artifacts', index, 'image'], { message: `duplicate image "${artifact.image}" (also build.artifacts[${first}])`, hint: 'each artifact needs its own image name' });
    });
    return value;
  },
};

const imagePathSchema: Schema = {
  type: 'object',
  fields: {
    kind: field(str({ nonEmpty: true }), 'object kind, e.g. CronTab', { required: true }),
    group: field(str(), 'API group; empty for the core group', { default: '' }),
    path: field(str({ nonEmpty: true }), 'dotted path to the image field, e.g. .spec.image', { required: true }),
  },
};

const activationSchema: Schema = {
  type: 'object',
  fields: {
    env: field(
      str({ check: (e) => (/^[A-Za-z_][A-Za-z0-9_]*(=.*)?$/.test(e) ? undefined : { message: `invalid env activation "${e}"`, hint: 'write NAME=value (or NAME: set and not empty)' }) }),
      'NAME=value: active when the variable has that value (NAME alone: set and not empty)',
    ),
    command: field(
      str({
        check: (c) => {
          const unknown = c.split('|').filter((part) => !(COMMANDS as readonly string[]).includes(part.trim()));
          return unknown.length ? { message: `unknown command "${unknown[0]}"`, hint: `commands: ${COMMANDS.join(', ')} (several: dev|run)` } : undefined;
        },
      }),
      'active for these commands, e.g. dev or dev|run',
    ),
    kubeContext: field(
      str({
        check: (re) => {
          try {
            new RegExp(re);
            return undefined;
          } catch (error) {
            const reason = (error as Error).message.split(': ').pop() ?? 'invalid';
            return { message: `invalid regular expression /${re}/`, hint: `${reason}; the expression must match the whole context name` };
          }
        },
      }),
      'regular expression matched against the whole kube context name',
    ),
  },
  finish: (value, ctx, raw) => {
    if (Object.keys(raw).length === 0) ctx.report([], { message: 'empty activation never matches', hint: 'set env, command or kubeContext' });
    return value;
  },
};

const patchSchema: Schema = {
  type: 'object',
  fields: {
    op: field(str({ enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] }), 'RFC 6902 operation', { required: true }),
    path: field(str({ check: checkPointer }), 'JSON pointer into the config, e.g. /build/tagPolicy', { required: true }),
    from: field(str({ check: checkPointer }), 'source pointer for move and copy'),
    value: field({ type: 'any' }, 'value for add, replace and test'),
  },
  finish: (value, ctx) => {
    const op = value.op as string | undefined;
    if ((op === 'add' || op === 'replace' || op === 'test') && !('value' in value)) ctx.report(['value'], { message: `missing required key for op ${op}` });
    if ((op === 'move' || op === 'copy') && !('from' in value)) ctx.report(['from'], { message: `missing required key for op ${op}` });
    return value;
  },
};

function checkPointer(pointer: string): { message: string; hint: string } | undefined {
  return pointer === '' || pointer.startsWith('/') ? undefined : { message: `invalid JSON pointer "${pointer}"`, hint: 'pointers start with /, e.g. /build/artifacts/0/image' };
}

const profileSchema: Schema = {
  type: 'object',
  fields: {
    name: field(str({ check: checkDnsLabel }), 'profile name (for -p)', { required: true }),
    activation: field(list(activationSchema), 'any matching entry activates the profile; keys inside one entry must all match', { default: [] }),
    patches: field(list(patchSchema), 'JSON patches applied to the config when active', { default: [] }),
  },
};

export const profilesSchema: Schema = list(profileSchema);

const kustomizeSchema: Schema = {
  type: 'object',
  fields: {
    paths: field(list(str({ nonEmpty: true })), 'kustomization folders (relative to the config file), rendered in order', { default: [] }),
    binary: field(str(), 'program to run; empty: kubectl (kubectl kustomize) if on PATH, else kustomize (kustomize build)', { default: '' }),
  },
};

const helmReleaseSchema: Schema = {
  type: 'object',
  fields: {
    name: field(str({ check: checkDnsLabel }), 'release name (.Release.Name)', { required: true }),
    chart: field(str({ nonEmpty: true }), 'local chart folder, relative to the config file', { required: true }),
    namespace: field(str(), '--namespace (.Release.Namespace); empty: the deploy namespace', { default: '' }),
    valuesFiles: field(list(str({ nonEmpty: true })), '-f values files, relative to the config file', { default: [] }),
    setValues: field(stringMap, '--set key=value pairs', { default: {} }),
  },
};

const helmSchema: Schema = {
  type: 'object',
  fields: {
    binary: field(str(), 'program to run; empty: helm on PATH, else ~/.cache/devloop-helm/helm', { default: '' }),
    releases: field(list(helmReleaseSchema), 'charts to render', { default: [] }),
  },
  finish: (value, ctx) => {
    const seen = new Set<string>();
    (value.releases as ({ name?: string } | undefined)[] | undefined)?.forEach((release, index) => {
      if (!release?.name) return;
      if (seen.has(release.name)) ctx.report(['releases', index, 'name'], { message: `duplicate release "${release.name}"` });
      seen.add(release.name);
    });
    return value;
  },
};

export const configSchema: Schema = {
  type: 'object',
  fields: {
    apiVersion: field(str({ enum: ['devloop/v1'] }), 'always devloop/v1', { required: true }),
    kind: field(str({ enum: ['Config'] }), 'always Config', { required: true }),
    metadata: field(
      { type: 'object', fields: { name: field(str({ check: checkDnsLabel }), 'project name, used in labels and the cache key', { required: true }) } },
      'project metadata',
      { required: true },
    ),
    build: field(buildSchema, 'what to build and where to push it', { default: {} }),
    manifests: field(list(str({ nonEmpty: true })), 'Kubernetes YAML globs, relative to the config file', { default: ['k8s/*.yaml'] }),
    render: field({ type: 'object', fields: { imagePaths: field(list(imagePathSchema), 'extra image fields in custom resources', { default: [] }) } }, 'manifest rendering', { default: {} }),
    deploy: field(
      {
        type: 'object',
        fields: {
          kubeContext: field(str(), 'kubeconfig context; empty: the current one; also --kube-context', { default: '' }),
          namespace: field(str(), "namespace for objects that name none; empty: the context's; also -n", { default: '' }),
          statusCheck: field(
            { type: 'object', fields: { timeout: field({ type: 'duration' }, 'how long to wait for rollouts', { default: '120s' }) } },
            'rollout wait',
            { default: {} },
          ),
          kustomize: field(kustomizeSchema, 'manifests rendered from kustomizations', { default: {} }),
          helm: field(helmSchema, 'manifests rendered from local charts with helm template', { default: {} }),
          hooks: field(hooksSchema('render + apply + status'), 'lifecycle hooks around deploy', { default: {} }),
        },
      },
      'where and how to apply',
      { default: {} },
    ),
    portForward: field(
      list({
        type: 'object',
        fields: {
          resource: field(str({ check: checkForwardResource }), 'service/NAME, deployment/NAME or pod/NAME', { required: true }),
          port: field({ type: 'union', options: [port, str({ nonEmpty: true })], expected: 'a port number or name' }, 'remote port (number or name)', { required: true }),
          localPort: field(port, 'local port; default: the remote port if free, else a free one'),
          address: field(
            str({ check: (a) => (isIP(a) !== 0 || a === 'localhost' ? undefined : { message: `invalid address "${a}"`, hint: 'an IP address such as 127.0.0.1' }) }),
            'local address to listen on',
            { default: '127.0.0.1' },
          ),
          namespace: field(str({ nonEmpty: true }), "the resource's namespace; default: the deploy namespace"),
          holdTimeout: field({ type: 'duration' }, 'how long a connection is held while no pod is Ready; default: 30s'),
        },
      }),
      'local ports forwarded to cluster resources',
      { default: [] },
    ),
    profiles: field(profilesSchema, 'named sets of JSON patches', { default: [] }),
  },
  finish: (value, ctx, raw) => {
    // With kustomizations or charts, plain YAML files are opt-in: the k8s/*.yaml default would find nothing.
    const deploy = value.deploy as { kustomize?: { paths?: unknown[] }; helm?: { releases?: unknown[] } } | undefined;
    if (raw.manifests === undefined && (deploy?.kustomize?.paths?.length || deploy?.helm?.releases?.length)) value.manifests = [];
    checkHookArtifacts(value, ctx);
    const seen = new Set<string>();
    (value.profiles as ({ name?: string } | undefined)[] | undefined)?.forEach((profile, index) => {
      if (!profile?.name) return;
      if (seen.has(profile.name)) ctx.report(['profiles', index, 'name'], { message: `duplicate profile "${profile.name}"` });
      seen.add(profile.name);
    });
    return value;
  },
};
