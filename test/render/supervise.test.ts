/**
 * Live update's supervisor in rendering: only `devloop dev` passes supervised images, and then only
 * the regular containers running such an image get the supervisor with their original command
 * (manifest command/args, else the image's Entrypoint/Cmd) as its arguments.
 */
import { describe, expect, it } from 'vitest';
import { renderObjects, type KubeObject } from '../../src/render/index.js';
import { originalCommand, superviseContainers } from '../../src/render/supervise.js';
import { SUPERVISOR_NAME, SUPERVISOR_SCRIPT, unsupervisedCommand } from '../../src/sync/supervisor.js';

const REF = '127.0.0.1:5000/app:abc@sha256:1111';
const IMAGE = { ref: REF, entrypoint: ['/app'], cmd: ['--port', '8080'] };

function deployment(containers: Record<string, unknown>[], initContainers: Record<string, unknown>[] = []): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app' },
    spec: { template: { metadata: { labels: { app: 'app' } }, spec: { containers, initContainers } } },
  };
}

const containersOf = (object: KubeObject): Record<string, unknown>[] =>
  ((object.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers);

describe('supervisor wrapping', () => {
  it('what the kubelet would run: command replaces Entrypoint and drops Cmd; args replace Cmd', () => {
    expect(originalCommand({}, IMAGE)).toEqual(['/app', '--port', '8080']);
    expect(originalCommand({ args: ['-v'] }, IMAGE)).toEqual(['/app', '-v']);
    expect(originalCommand({ command: ['/other'] }, IMAGE)).toEqual(['/other']);
    expect(originalCommand({ command: ['/other'], args: ['x', 'y'] }, IMAGE)).toEqual(['/other', 'x', 'y']);
  });

  it('wraps the containers running the image (each with its own name), not init containers or other images', () => {
    const object = deployment(
      [
        { name: 'web', image: REF, args: ['-v', '$(PORT)'] },
        { name: 'side', image: 'busybox' },
        { name: 'web2', image: REF },
      ],
      [{ name: 'init', image: REF }],
    );
    expect(superviseContainers(object, [IMAGE])).toEqual(['web', 'web2']);
    const [web, side, web2] = containersOf(object);
    // The kubelet turns $$ into $ in a command: the script's every $ is doubled, the original command is as written.
    expect(web!.command).toEqual(['/bin/sh', '-c', SUPERVISOR_SCRIPT.replaceAll('$', '$$$$'), SUPERVISOR_NAME, 'web', '/app', '-v', '$(PORT)']);
    expect(web!.args).toBeUndefined();
    expect(unsupervisedCommand(web2!.command as string[])).toEqual(['/app', '--port', '8080']);
    expect(side!.command).toBeUndefined();
    const init = (object.spec as { template: { spec: { initContainers: Record<string, unknown>[] } } }).template.spec.initContainers[0]!;
    expect(init.command).toBeUndefined();
  });

  it('renderObjects wraps only when told to (dev); run, deploy and render never pass images', () => {
    const parsed = [{ object: deployment([{ name: 'web', image: 'app' }]), source: { file: 'k8s/app.yaml', line: 1 } }];
    const settings = { configName: 'demo', images: [{ image: 'app', ref: REF }], imagePaths: [] };
    const plain = renderObjects(parsed, settings);
    expect(containersOf(plain.objects[0]!.object)[0]).toEqual({ name: 'web', image: REF });
    const dev = renderObjects(parsed, { ...settings, supervise: [IMAGE] });
    expect(unsupervisedCommand(containersOf(dev.objects[0]!.object)[0]!.command as string[])).toEqual(['/app', '--port', '8080']);
    // The parsed manifests are left as they were.
    expect(containersOf(parsed[0]!.object)[0]).toEqual({ name: 'web', image: 'app' });
  });

  it('a container with nothing to run is left alone', () => {
    const object = deployment([{ name: 'web', image: REF }]);
    expect(superviseContainers(object, [{ ref: REF, entrypoint: [], cmd: [] }])).toEqual([]);
  });
});
