/**
 * Port-forwarding against the fake API server: real HTTPS, real WebSocket channel protocol, pods
 * replaced by real Deployment rollouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { startPortForwards } from '../../src/forward/index.js';
import type { ForwardEvent, NoticeEvent } from '../../src/events/types.js';
import { DevloopError } from '../../src/errors.js';
import { freePort } from '../support/services.js';
import { app, deploy, eventually, httpGet, loadedConfig, recorder, redeploy, servingPods, sleep, startCluster, type Cluster } from './helpers.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await deploy(cluster, app({ name: 'hello', servicePort: 80, targetPort: 'http' }));
  await deploy(cluster, app({ name: 'quote', servicePort: 8081, targetPort: 8080 }));
});
afterAll(async () => {
  await cluster?.stop();
});

const forwards = (events: { type: string }[]): ForwardEvent[] => events.filter((e): e is ForwardEvent & { time: string } => e.type === 'forward');

/** Starts forwards for `portForward` with a recorder and an abort signal; `stop()` aborts and closes the session. */
async function forwarding(portForward: Parameters<typeof loadedConfig>[0], options: Partial<Parameters<typeof startPortForwards>[0]> = {}) {
  const { emit, events } = recorder();
  const abort = new AbortController();
  const session = await startPortForwards({ kube: cluster.kube, loaded: loadedConfig(portForward), emit, signal: abort.signal, forwardAllServices: false, ...options });
  const stop = async () => {
    abort.abort();
    await session.close();
  };
  return { events, abort, session, stop };
}

describe('port-forward through a listener devloop owns', () => {
  it('serves a Service through its named targetPort and reports ready with the pod', async () => {
    const localPort = await freePort();
    const { events, session, stop } = await forwarding([{ resource: 'service/hello', port: 80, localPort }]);
    try {
      const body = await httpGet(localPort);
      const [pod] = servingPods(cluster.fake, 'hello');
      expect(body).toBe(`hello from ${pod} image=example.test/hello:1\n`);
      const ready = forwards(events).find((e) => e.status === 'ready');
      expect(ready).toMatchObject({ resource: 'service/hello', port: 80, localPort, address: '127.0.0.1', pod });
      expect(session.forwards()).toEqual([{ resource: 'service/hello', namespace: 'default', port: 80, address: '127.0.0.1', localPort, pod }]);
    } finally {
      await stop();
    }
    expect(forwards(events).at(-1)?.status).toBe('stopped');
    await expect(httpGet(localPort, '/', 500)).rejects.toThrow(); // listener gone
  });

  it('keeps the local port across 20 redeploys and no request fails', async () => {
    const localPort = await freePort();
    const { events, stop } = await forwarding([{ resource: 'service/hello', port: 80, localPort }]);
    const seen = new Set<string>();
    let ok = 0;
    const failures: string[] = [];
    let polling = true;
    // One request every 100 ms on a fresh connection, whatever the rollout is doing.
    const poller = (async () => {
      while (polling) {
        const started = Date.now();
        try {
          const body = await httpGet(localPort, '/', 10_000);
          seen.add(/hello from (\S+)/.exec(body)?.[1] ?? body);
          ok++;
        } catch (error) {
          failures.push((error as Error).message);
        }
        await sleep(Math.max(0, 100 - (Date.now() - started)));
      }
    })();
    try {
      await eventually(() => (ok > 0 ? true : undefined), 5_000);
      for (let revision = 1; revision <= 20; revision++) {
        const before = new Set(servingPods(cluster.fake, 'hello'));
        await redeploy(cluster, 'hello', revision);
        // The new pod is serving through the forward once a response names it.
        await eventually(() => [...seen].some((pod) => !before.has(pod) && servingPods(cluster.fake, 'hello').includes(pod)) || undefined, 10_000);
      }
    } finally {
      polling = false;
      await poller;
      await stop();
    }
    expect(seen.size).toBeGreaterThanOrEqual(21);
    // Requests cut by an old pod going away are replayed on the new one.
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(new Set(forwards(events).map((e) => e.localPort))).toEqual(new Set([localPort]));
    const readyPods = forwards(events).filter((e) => e.status === 'ready').map((e) => e.pod);
    expect(new Set(readyPods).size).toBeGreaterThanOrEqual(21);
    console.log(`20 redeploys: ${ok} requests ok, ${failures.length} failed, ${seen.size} pods served`);
  }, 120_000);

  it('forwards two Services at once and moves a taken port to the next free one, saying so', async () => {
    const taken = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    const quotePort = await freePort();
    let abort: AbortController | undefined;
    try {
      const started = await forwarding([
        { resource: 'service/hello', port: 'web', localPort: taken },
        { resource: 'service/quote', port: 8081, localPort: quotePort },
      ]);
      const { events, session } = started;
      abort = started.abort;
      const [hello, quote] = session.forwards();
      expect(hello!.localPort).toBeGreaterThan(taken);
      expect(quote!.localPort).toBe(quotePort);
      const notice = events.find((e): e is NoticeEvent & { time: string } => e.type === 'notice');
      expect(notice?.message).toBe(`localPort ${taken} is in use, forwarding service/hello on ${hello!.localPort}`);
      expect(await httpGet(hello!.localPort)).toMatch(/^hello from hello-/);
      expect(await httpGet(quote!.localPort)).toMatch(/^hello from quote-/);
      // The signal alone closes everything.
      abort.abort();
      await eventually(() => (forwards(events).filter((e) => e.status === 'stopped').length === 2 ? true : undefined), 5_000);
    } finally {
      abort?.abort();
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('with forwardAllServices, forwards every Service of this config and run on its own port', async () => {
    const { emit } = recorder();
    const own = await freePort();
    await deploy(cluster, app({ name: 'extra', servicePort: own, targetPort: 8080, labels: { 'devloop.dev/run-id': 'r1' } }));
    const abort = new AbortController();
    const session = await startPortForwards({ kube: cluster.kube, loaded: loadedConfig(), emit, signal: abort.signal, forwardAllServices: true, runId: 'r1' });
    try {
      expect(session.forwards().map((f) => [f.resource, f.localPort])).toEqual([['service/extra', own]]);
      expect(await httpGet(own)).toMatch(/^hello from extra-/);
    } finally {
      await session.close();
    }
    const all = await startPortForwards({ kube: cluster.kube, loaded: loadedConfig(), emit, signal: abort.signal, forwardAllServices: false });
    expect(all.forwards()).toEqual([]);
    await all.close();
  });

  it('forwards deployment/x by named container port and pod/x by number', async () => {
    const [pod] = servingPods(cluster.fake, 'quote');
    const { session } = await forwarding([
      { resource: 'deployment/quote', port: 'http', localPort: await freePort() },
      { resource: `pod/${pod}`, port: 8080, localPort: await freePort() },
    ]);
    try {
      for (const f of session.forwards()) expect(await httpGet(f.localPort)).toBe(`hello from ${pod} image=example.test/quote:1\n`);
    } finally {
      await session.close();
    }
  });

  it('fails clearly for a Service without selector and for an unknown port', async () => {
    await deploy(cluster, app({ name: 'headless', servicePort: 9000, noSelector: true }));
    const { emit } = recorder();
    const signal = new AbortController().signal;
    const start = (resource: string, port: number | string) =>
      startPortForwards({ kube: cluster.kube, loaded: loadedConfig([{ resource, port, localPort: 20000 }]), emit, signal, forwardAllServices: false }).catch((e: unknown) => e as DevloopError);
    const noSelector = await start('service/headless', 9000);
    expect(noSelector).toBeInstanceOf(DevloopError);
    expect((noSelector as DevloopError).code).toBe('FORWARD_NO_SELECTOR');
    expect((noSelector as DevloopError).message).toBe('service/headless in namespace default has no selector, so no pod to forward to');
    const badPort = await start('service/hello', 81);
    expect((badPort as DevloopError).code).toBe('FORWARD_PORT_UNKNOWN');
    expect((badPort as DevloopError).hint).toBe('its ports: 80 (web)');
    expect(((await start('service/nope', 80)) as DevloopError).code).toBe('FORWARD_NOT_FOUND');
    expect(((await start('service/hello', 80).then(() => undefined)) as DevloopError | undefined)).toBeUndefined();
  });

  it('holds a connection while no pod is Ready (bounded), then fails it with a message', async () => {
    const localPort = await freePort();
    const apps = cluster.kube.kc.makeApiClient(cluster.kube.lib.AppsV1Api);
    await deploy(cluster, app({ name: 'scaled', servicePort: 9100, targetPort: 8080 }));
    // portForward[].holdTimeout (a duration in the config, ms here) bounds the hold.
    const { events, session, stop } = await forwarding([{ resource: 'service/scaled', port: 9100, localPort, holdTimeout: 3_000 }]);
    try {
      await eventually(() => forwards(events).find((e) => e.status === 'ready'));
      const scale = await apps.readNamespacedDeployment({ name: 'scaled', namespace: 'default' });
      scale.spec!.replicas = 0;
      await apps.replaceNamespacedDeployment({ name: 'scaled', namespace: 'default', body: scale });
      await eventually(() => forwards(events).find((e) => e.status === 'reconnecting'));
      const started = Date.now();
      await expect(httpGet(localPort, '/', 6_000)).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
      const error = await eventually(() => forwards(events).find((e) => e.status === 'error'));
      expect(error.message).toBe('no Ready pod for service/scaled in namespace default after 3s');

      // A connection arriving while the pod comes back is held and then served.
      const held = httpGet(localPort, '/', 8_000).then((body) => body, (error: Error) => error);
      const latest = await apps.readNamespacedDeployment({ name: 'scaled', namespace: 'default' });
      latest.spec!.replicas = 1;
      await apps.replaceNamespacedDeployment({ name: 'scaled', namespace: 'default', body: latest });
      expect(await held).toMatch(/^hello from scaled-/);
      expect(session.forwards()[0]!.localPort).toBe(localPort);
    } finally {
      await stop();
    }
  });

  it('a stream failing before any answer is tried again; one that keeps failing fails only that connection', async () => {
    const localPort = await freePort();
    const runtime = cluster.fake.runtime as unknown as { setHandler(h: ((pod: unknown, c: unknown, req: { url?: string }, res: { socket: { destroy(): void } | null }) => boolean | void) | undefined): void };
    runtime.setHandler((_pod, _c, req, res) => {
      if (req.url !== '/reset') return false;
      res.socket?.destroy(); // the app's connection breaks inside the pod
      return true;
    });
    const { events, stop } = await forwarding([{ resource: 'service/quote', port: 8081, localPort }]);
    try {
      // The pod, still Ready, closes every try without a word: that is its answer.
      await expect(httpGet(localPort, '/reset')).rejects.toThrow();
      expect(await httpGet(localPort, '/')).toMatch(/^hello from quote-/);

      // The API refusing the upgrade once (a 500 from the server) is tried again: served.
      cluster.fake.controls.failNextRequests(1, 500, { path: /\/portforward$/ });
      expect(await httpGet(localPort, '/')).toMatch(/^hello from quote-/);
      // Refused on both tries of the only pod: just that one connection fails, with an error event.
      cluster.fake.controls.failNextRequests(2, 500, { path: /\/portforward$/ });
      await expect(httpGet(localPort, '/')).rejects.toThrow();
      expect(await httpGet(localPort, '/')).toMatch(/^hello from quote-/);
      const errors = forwards(events).filter((e) => e.status === 'error');
      expect(errors.length).toBe(1);
      expect(errors[0]).toMatchObject({ localPort, message: expect.stringMatching(/^connection failed: port-forward to pod quote-\S+ failed: Unexpected server response: 500$/) });
    } finally {
      runtime.setHandler(undefined);
      await stop();
    }
  });

  it('an API outage: the listener stays bound, requests fail, then the same port serves again and the forward says ready', async () => {
    const localPort = await freePort();
    const { events, session, stop } = await forwarding([{ resource: 'service/hello', port: 80, localPort }], { timeouts: { podWaitMs: 1_000, connectTimeoutMs: 2_000 } });
    try {
      const [pod] = servingPods(cluster.fake, 'hello');
      expect(await httpGet(localPort)).toContain(`hello from ${pod}`);
      await cluster.fake.controls.setUnavailable(true);
      await eventually(() => forwards(events).find((e) => e.status === 'reconnecting' && /watching pods failed/.test(e.message ?? '')));
      await expect(httpGet(localPort, '/', 3_000)).rejects.toThrow(); // accepted, then reset: the API is away
      const from = events.length;
      await cluster.fake.controls.setUnavailable(false);
      const back = await eventually(() => forwards(events.slice(from)).find((e) => e.status === 'ready'), 10_000);
      expect(back).toMatchObject({ localPort, pod });
      expect(await httpGet(localPort)).toContain(`hello from ${pod}`);
      expect(session.forwards()).toMatchObject([{ localPort, pod }]);
    } finally {
      await cluster.fake.controls.setUnavailable(false);
      await stop();
    }
  });

  it('rejects a localPort out of range before binding anything', async () => {
    const { emit } = recorder();
    const error = await startPortForwards({
      kube: cluster.kube,
      loaded: loadedConfig([{ resource: 'service/hello', port: 80, localPort: 70000 }]),
      emit,
      signal: new AbortController().signal,
      forwardAllServices: false,
    }).catch((e: unknown) => e as DevloopError);
    expect(error).toMatchObject({ code: 'FORWARD_PORT_INVALID', message: 'localPort 70000 for service/hello is out of range (1-65535)' });
  });
});
