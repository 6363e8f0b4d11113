/**
 * The fake's exec negotiates like a server of its version: v5.channel.k8s.io (stdin half-close) from
 * 1.30, v4 before, where a [255, 0] frame is ignored and only closing the socket ends stdin (the
 * command then runs on without a status, as measured on a real 1.26).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, podKeyOf, type FakeKube, type FakePod } from '../support/fake-kube/index.js';
import { syncArchive } from '../../src/sync/tar.js';
import { clients, deployment, type Clients } from './helpers.js';

interface Session {
  ws: Awaited<ReturnType<k8s.Exec['exec']>>;
  stdout: () => string;
  status: Promise<k8s.V1Status>;
  stdin: PassThrough;
}

describe.each([
  { version: 'v1.26.5', protocol: 'v4.channel.k8s.io' },
  { version: 'v1.30.4', protocol: 'v5.channel.k8s.io' },
])('exec on a $version server', ({ version, protocol }) => {
  let kube: FakeKube;
  let c: Clients;
  let pod: FakePod;
  beforeAll(async () => {
    kube = await startFakeKube({ version });
    c = clients(kube);
    await c.objects.create(deployment('box', 'registry.example/box:1'));
    const running = (): FakePod | undefined =>
      (kube.objects.list('Pod', 'default') as FakePod[]).find((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
    const deadline = Date.now() + 10_000;
    while (!running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    pod = running()!;
  });
  afterAll(async () => kube?.stop());

  async function open(command: string[]): Promise<Session> {
    let out = '';
    const stdout = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const stdin = new PassThrough();
    let resolveStatus!: (s: k8s.V1Status) => void;
    const status = new Promise<k8s.V1Status>((r) => (resolveStatus = r));
    const container = pod.spec.containers[0]!.name;
    const ws = await new k8s.Exec(c.kc).exec('default', pod.metadata.name!, container, command, stdout, null, stdin, false, resolveStatus);
    return { ws, stdout: () => out, status, stdin };
  }

  it(`reports ${version} on /version and negotiates ${protocol}`, async () => {
    const info = await c.kc.makeApiClient(k8s.VersionApi).getCode();
    expect(info.gitVersion).toBe(version);
    const session = await open(['true']);
    expect(session.ws.protocol).toBe(protocol);
    expect((await session.status).status).toBe('Success');
  });

  it(protocol.startsWith('v5') ? 'a [255, 0] frame half-closes stdin' : 'a [255, 0] frame is ignored: stdin stays open', async () => {
    const session = await open(['head', '-c', '3']);
    session.ws.send(Buffer.from([0, ...Buffer.from('ab')]));
    session.ws.send(Buffer.from([255, 0]));
    session.ws.send(Buffer.from([0, ...Buffer.from('c')]));
    expect((await session.status).status).toBe('Success');
    expect(session.stdout()).toBe(protocol.startsWith('v5') ? 'ab' : 'abc');
  });

  it('closing the socket ends stdin: the command runs on, its status is lost', async () => {
    const archive = await syncArchive([{ local: join(import.meta.dirname, 'exec.test.ts'), name: 'closed/exec.test.ts' }]);
    const session = await open(['tar', '-x', '-C', '/', '-f', '-']);
    let gotStatus = false;
    void session.status.then(() => (gotStatus = true));
    session.ws.send(Buffer.concat([Buffer.from([0]), archive]));
    session.ws.close();
    const file = join(kube.runtime.rootDir(podKeyOf(pod), pod.spec.containers[0]!.name)!, 'closed/exec.test.ts');
    const deadline = Date.now() + 5_000;
    while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await readFile(file, 'utf8')).toContain('closing the socket ends stdin');
    expect(gotStatus).toBe(false);
  });

  it('sh -c runs one pipeline; a missing program exits 127 with the shell\'s "not found"', async () => {
    const ok = await open(['sh', '-c', 'head -c 2 | "$@"', 'sh', 'head', '-c', '1']);
    ok.ws.send(Buffer.from([0, ...Buffer.from('xyz')]));
    expect((await ok.status).status).toBe('Success');
    expect(ok.stdout()).toBe('x');
    const missing = await open(['sh', '-c', 'head -c 1 | "$@"', 'sh', 'nothere']);
    missing.ws.send(Buffer.from([0, 120]));
    const status = await missing.status;
    expect(status.details?.causes?.[0]?.message).toBe('127');
  });
});
