import { describe, expect, test } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const head = 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: app}\n';

async function errorOf(text: string, env: NodeJS.ProcessEnv = {}, profiles: string[] = []): Promise<ConfigError> {
  try {
    await loadConfigText(text, { file: '/tmp/devloop-test/devloop.yaml', displayName: 'devloop.yaml', profiles, command: 'build', overrides: {}, env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

// [name, config text, exact first line of the error]
const cases: [string, string, string][] = [
  ['YAML syntax: bad indentation', `${head}build:\n  artifacts:\n   - image: a\n  - image: b\n`,
    'devloop.yaml:7:1: A block sequence may not be used as an implicit map key'],
  ['YAML syntax: unclosed flow mapping', `${head}build: {artifacts: [}\n`,
    'devloop.yaml:4:21: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ['YAML: duplicate key', `${head}manifests: [a]\nmanifests: [b]\n`,
    'devloop.yaml:5:1: Map keys must be unique'],
  ['empty file', '',
    'devloop.yaml:1:1: the file is empty'],
  ['top level is a list', '- a\n- b\n',
    'devloop.yaml:1:1: expected a mapping at the top level'],
  ['missing apiVersion', 'kind: Config\nmetadata: {name: app}\n',
    'devloop.yaml:1:1: apiVersion: missing required key'],
  ['wrong apiVersion', 'apiVersion: devloop/v2\nkind: Config\nmetadata: {name: app}\n',
    'devloop.yaml:1:13: apiVersion: expected devloop/v1'],
  ['wrong kind', 'apiVersion: devloop/v1\nkind: Confg\nmetadata: {name: app}\n',
    'devloop.yaml:2:7: kind: expected Config'],
  ['missing metadata.name', 'apiVersion: devloop/v1\nkind: Config\nmetadata: {}\n',
    'devloop.yaml:3:11: metadata.name: missing required key'],
  ['typo in metadata wins over the missing key', 'apiVersion: devloop/v1\nkind: Config\nmetadata:\n  nme: app\n',
    'devloop.yaml:4:3: metadata.nme: unknown key, did you mean `name`?'],
  ['metadata.name not DNS-1123', 'apiVersion: devloop/v1\nkind: Config\nmetadata: {name: My_App}\n',
    'devloop.yaml:3:18: metadata.name: invalid name "My_App"'],
  ['unknown top-level key', `${head}manifest: [k8s/*.yaml]\n`,
    'devloop.yaml:4:1: manifest: unknown key, did you mean `manifests`?'],
  ['unknown artifact key suggests context', `${head}build:\n  artifacts:\n    - image: a\n      contxt: .\n`,
    'devloop.yaml:7:7: build.artifacts[0].contxt: unknown key, did you mean `context`?'],
  ['dockerfile not a string', `${head}build:\n  artifacts:\n    - image: a\n      docker:\n        dockerfile: 5\n`,
    'devloop.yaml:8:21: build.artifacts[0].docker.dockerfile: expected a string'],
  ['artifact image missing', `${head}build:\n  artifacts:\n    - context: .\n`,
    'devloop.yaml:6:7: build.artifacts[0].image: missing required key'],
  ['artifact image uppercase', `${head}build:\n  artifacts:\n    - image: Hello\n`,
    'devloop.yaml:6:14: build.artifacts[0].image: invalid image name "Hello"'],
  ['artifact image with tag', `${head}build:\n  artifacts:\n    - image: hello:1.0\n`,
    'devloop.yaml:6:14: build.artifacts[0].image: image "hello:1.0" must not carry a tag or digest'],
  ['duplicate artifact images', `${head}build:\n  artifacts:\n    - image: a\n    - image: b\n    - image: a\n`,
    'devloop.yaml:8:14: build.artifacts[2].image: duplicate image "a" (also build.artifacts[0])'],
  ['docker and oci both set', `${head}build:\n  artifacts:\n    - image: a\n      docker: {}\n      oci: {from: scratch}\n`,
    'devloop.yaml:8:7: build.artifacts[0].oci: set either docker or oci, not both'],
  ['artifacts not a list', `${head}build:\n  artifacts: {image: a}\n`,
    'devloop.yaml:5:14: build.artifacts: expected a list'],
  ['tagPolicy unknown', `${head}build:\n  tagPolicy: inputdigest\n`,
    'devloop.yaml:5:14: build.tagPolicy: expected inputDigest, gitCommit, dateTime or {template: …}'],
  ['tagPolicy template missing', `${head}build:\n  tagPolicy: {templte: x}\n`,
    'devloop.yaml:5:15: build.tagPolicy.templte: unknown key, did you mean `template`?'],
  ['push not auto/bool', `${head}build:\n  push: sometimes\n`,
    'devloop.yaml:5:9: build.push: expected auto, true or false'],
  ['concurrency zero', `${head}build:\n  concurrency: 0\n`,
    'devloop.yaml:5:16: build.concurrency: must be between 1 and 64, got 0'],
  ['concurrency not integer', `${head}build:\n  concurrency: 1.5\n`,
    'devloop.yaml:5:16: build.concurrency: expected an integer'],
  ['defaultRepo invalid', `${head}build:\n  defaultRepo: "http://127.0.0.1:5000"\n`,
    'devloop.yaml:5:16: build.defaultRepo: invalid registry "http://127.0.0.1:5000"'],
  ['compile command missing', `${head}build:\n  artifacts:\n    - image: a\n      compile:\n        inputs: ["*.go"]\n`,
    'devloop.yaml:8:9: build.artifacts[0].compile.command: missing required key'],
  ['compile command empty list', `${head}build:\n  artifacts:\n    - image: a\n      compile: {command: []}\n`,
    'devloop.yaml:7:26: build.artifacts[0].compile.command: must not be an empty list'],
  ['compile env value is a list', `${head}build:\n  artifacts:\n    - image: a\n      compile:\n        command: make\n        env: {A: [1]}\n`,
    'devloop.yaml:9:18: build.artifacts[0].compile.env.A: expected a string'],
  ['sync dest relative', `${head}build:\n  artifacts:\n    - image: a\n      sync:\n        - {src: "public/**", dest: app/public}\n`,
    'devloop.yaml:8:36: build.artifacts[0].sync[0].dest: must be an absolute path in the container, got "app/public"'],
  ['sync restart not a boolean', `${head}build:\n  artifacts:\n    - image: a\n      sync:\n        - {src: bin/app, dest: /, restart: yes}\n`,
    'devloop.yaml:8:44: build.artifacts[0].sync[0].restart: expected true or false'],
  ['oci layer to relative', `${head}build:\n  artifacts:\n    - image: a\n      oci:\n        layers:\n          - {from: bin/app, to: app}\n`,
    'devloop.yaml:9:33: build.artifacts[0].oci.layers[0].to: must be an absolute path in the container, got "app"'],
  ['oci layer mode ambiguous decimal', `${head}build:\n  artifacts:\n    - image: a\n      oci:\n        layers:\n          - {from: bin/app, to: /app, mode: 755}\n`,
    'devloop.yaml:9:45: build.artifacts[0].oci.layers[0].mode: ambiguous file mode 755'],
  ['oci port out of range', `${head}build:\n  artifacts:\n    - image: a\n      oci: {ports: [8080, 70000]}\n`,
    'devloop.yaml:7:27: build.artifacts[0].oci.ports[1]: must be between 1 and 65535, got 70000'],
  ['oci platform invalid', `${head}build:\n  artifacts:\n    - image: a\n      oci: {platform: amd64}\n`,
    'devloop.yaml:7:23: build.artifacts[0].oci.platform: invalid platform "amd64"'],
  ['manifests not a list of strings', `${head}manifests: [k8s/*.yaml, 3]\n`,
    'devloop.yaml:4:25: manifests[1]: expected a string'],
  ['statusCheck timeout not a duration', `${head}deploy:\n  statusCheck: {timeout: 120}\n`,
    'devloop.yaml:5:26: deploy.statusCheck.timeout: expected a duration like 120s, 2m or 500ms'],
  ['statusCheck timeout bad unit', `${head}deploy:\n  statusCheck:\n    timeout: 2 minutes\n`,
    'devloop.yaml:6:14: deploy.statusCheck.timeout: expected a duration like 120s, 2m or 500ms'],
  ['portForward resource malformed', `${head}portForward:\n  - {resource: svc/hello, port: 80}\n`,
    'devloop.yaml:5:16: portForward[0].resource: invalid resource "svc/hello"'],
  ['portForward port missing', `${head}portForward:\n  - resource: service/hello\n    localPort: 8080\n`,
    'devloop.yaml:5:5: portForward[0].port: missing required key'],
  ['portForward localPort out of range', `${head}portForward:\n  - {resource: service/hello, port: 80, localPort: 0}\n`,
    'devloop.yaml:5:52: portForward[0].localPort: must be between 1 and 65535, got 0'],
  ['portForward address invalid', `${head}portForward:\n  - {resource: service/hello, port: 80, address: "my host"}\n`,
    'devloop.yaml:5:50: portForward[0].address: invalid address "my host"'],
  ['render.imagePaths path missing', `${head}render:\n  imagePaths:\n    - {kind: CronTab}\n`,
    'devloop.yaml:6:7: render.imagePaths[0].path: missing required key'],
  ['profile without name', `${head}profiles:\n  - activation: [{env: CI=true}]\n`,
    'devloop.yaml:5:5: profiles[0].name: missing required key'],
  ['profile patch op unknown', `${head}profiles:\n  - name: ci\n    patches:\n      - {op: set, path: /build/push, value: false}\n`,
    'devloop.yaml:7:14: profiles[0].patches[0].op: expected one of add, remove, replace, move, copy, test'],
  ['profile patch path not a pointer', `${head}profiles:\n  - name: ci\n    patches:\n      - {op: remove, path: build/push}\n`,
    'devloop.yaml:7:28: profiles[0].patches[0].path: invalid JSON pointer "build/push"'],
  ['profile activation unknown command', `${head}profiles:\n  - name: ci\n    activation: [{command: deploi}]\n`,
    'devloop.yaml:6:28: profiles[0].activation[0].command: unknown command "deploi"'],
  ['profile activation bad regex', `${head}profiles:\n  - name: ci\n    activation: [{kubeContext: "kind-("}]\n`,
    'devloop.yaml:6:32: profiles[0].activation[0].kubeContext: invalid regular expression /kind-(/'],
  ['duplicate profile names', `${head}profiles:\n  - name: ci\n  - name: ci\n`,
    'devloop.yaml:6:11: profiles[1].name: duplicate profile "ci"'],
  ['unset variable', `${head}build:\n  defaultRepo: \${NOPE_REGISTRY}\n`,
    'devloop.yaml:5:16: build.defaultRepo: environment variable NOPE_REGISTRY is not set'],
  ['unterminated variable', `${head}build:\n  defaultRepo: "\${NOPE"\n`,
    `devloop.yaml:5:16: build.defaultRepo: unterminated \${ in "\${NOPE"`],
  ['invalid variable name', `${head}build:\n  defaultRepo: "\${1X}"\n`,
    `devloop.yaml:5:16: build.defaultRepo: invalid variable reference \${1X}`],
];

describe('malformed configs give one positioned error line', () => {
  test.each(cases)('%s', async (_name, text, expected) => {
    const error = await errorOf(text);
    expect(error.message).toBe(expected);
    expect(error.exitCode).toBe(2);
    expect(error.message).not.toContain('\n');
  });
});

describe('hints', () => {
  test('unknown keys list the known ones', async () => {
    const error = await errorOf(`${head}build:\n  artifacts:\n    - image: a\n      contxt: .\n`);
    expect(error.hint).toBe('known keys here: image, context, compile, docker, oci, custom, sync, hooks');
  });
  test('enum typos suggest the closest value', async () => {
    expect((await errorOf(`${head}build:\n  tagPolicy: gitcommit\n`)).hint).toContain('found the text "gitcommit"');
    expect((await errorOf(`${head}kind: Confg\n`.replace('kind: Config\n', ''))).hint).toBe('found the text "Confg"; did you mean `Config`?');
  });
  test('later problems are counted in the hint', async () => {
    const error = await errorOf(`${head}build:\n  concurrency: 0\n  push: maybe\n`);
    expect(error.message).toBe('devloop.yaml:5:16: build.concurrency: must be between 1 and 64, got 0');
    expect(error.hint).toBe('1 more problem after this one');
  });
  test('unset variables say how to give a default', async () => {
    const error = await errorOf(`${head}build:\n  defaultRepo: \${NOPE_REGISTRY}\n`);
    expect(error.hint).toBe('set NOPE_REGISTRY, or give a default: ${NOPE_REGISTRY:-value}');
    expect(error.code).toBe('CONFIG_INTERPOLATION');
  });
});

describe('profile failures', () => {
  const withProfile = (patches: string) => `${head}build:\n  artifacts:\n    - image: a\nprofiles:\n  - name: ci\n    patches:\n${patches}`;

  test('a patch on a missing path names the profile, patch index and path', async () => {
    const error = await errorOf(withProfile('      - {op: add, path: /build/tagPolicy, value: gitCommit}\n      - {op: remove, path: /deploy/nothing}\n'), {}, ['ci']);
    expect(error.message).toBe('devloop.yaml:11:9: profiles[0].patches[1]: profile "ci": remove /deploy/nothing: path /deploy/nothing does not exist');
    expect(error.code).toBe('CONFIG_PATCH');
  });

  test('replace of a key only defaulted (not written) fails and suggests add', async () => {
    const error = await errorOf(withProfile('      - {op: replace, path: /build/tagPolicy, value: gitCommit}\n'), {}, ['ci']);
    expect(error.message).toBe('devloop.yaml:10:9: profiles[0].patches[0]: profile "ci": replace /build/tagPolicy: path /build/tagPolicy does not exist');
    expect(error.hint).toContain('use add');
  });

  test('a failing test op stops the profile', async () => {
    const error = await errorOf(withProfile('      - {op: test, path: /build/artifacts/0/image, value: b}\n'), {}, ['ci']);
    expect(error.message).toBe('devloop.yaml:10:9: profiles[0].patches[0]: profile "ci": test /build/artifacts/0/image: test failed: /build/artifacts/0/image is "a", not "b"');
  });

  test('a patched-in bad value points at the patch value', async () => {
    const error = await errorOf(withProfile('      - {op: add, path: /build/concurrency, value: many}\n'), {}, ['ci']);
    expect(error.message).toBe('devloop.yaml:10:52: build.concurrency: expected an integer');
  });

  test('an unknown -p name lists the known profiles', async () => {
    const error = await errorOf(withProfile('      - {op: add, path: /build/push, value: false}\n'), {}, ['cj']);
    expect(error.message).toBe('devloop.yaml: no profile named "cj"');
    expect(error.hint).toBe('profiles in this file: ci');
    expect(error.exitCode).toBe(2);
  });
});
