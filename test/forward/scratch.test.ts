import { it } from 'vitest';
import { startPortForwards } from '../../src/forward/index.js';
import { freePort } from '../support/services.js';
import { app, deploy, httpGet, loadedConfig, recorder, startCluster, redeploy, servingPods, sleep, eventually } from './helpers.js';

it('timing', async () => {
  const cluster = await startCluster();
  await deploy(cluster, app({ name: 'hello', servicePort: 80 }));
  const { emit, events } = recorder();
  const localPort = await freePort();
  const s = await startPortForwards({ kube: cluster.kube, loaded: loadedConfig([{ resource: 'service/hello', port: 80, localPort }]), emit, signal: new AbortController().signal, forwardAllServices: false });
  let polling = true; const seen = new Set<string>();
  const t0 = Date.now();
  const poller = (async () => { while (polling) { const t = Date.now(); try { const b = await httpGet(localPort, '/', 2000); seen.add(b.split(' ')[2]!); console.log(`${t - t0} ok ${Date.now() - t} ${b.trim()}`); } catch (e) { console.log(`${t - t0} FAIL ${Date.now() - t} ${(e as Error).message}`); } await sleep(100); } })();
  for (let r = 1; r <= 4; r++) {
    const before = new Set(servingPods(cluster.fake, 'hello'));
    const t = Date.now();
    await redeploy(cluster, 'hello', r);
    console.log(`${t - t0} redeploy ${r} call ${Date.now() - t}`);
    await eventually(() => [...seen].some((pod) => !before.has(pod)) || undefined, 10_000);
    console.log(`${Date.now() - t0} redeploy ${r} seen after ${Date.now() - t}`);
  }
  polling = false; await poller;
  console.log(events.filter((e) => e.type === 'forward').map((e) => `${Date.parse(e.time) - t0} ${(e as {status: string}).status} ${(e as {pod?: string}).pod}`).join('\n'));
  await s.close();
  await cluster.stop();
}, 60_000);
