/**
 * The forward while pods are replaced, on a real cluster: `devloop run --tail --port-forward`, a
 * request every 100 ms (each on a new connection) while the Deployment's pod is deleted again and
 * again (readinessProbe, 2 s grace). Target: no failed request. Also: the log stream follows every
 * replacement pod.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { killAll, startDevloop, type RunningCli } from '../e2e/support.js';
import { freePort } from '../support/services.js';
import { clusterPresent, isReady, livePods, openCluster, shellApp, until, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();
const REPLACEMENTS = 6;
/** How long the forward holds a connection while no pod is Ready (forward/index.ts DEFAULT_FORWARD_TIMEOUTS.podWaitMs). */
const HOLD_MS = 30_000;

/**
 * One GET on a fresh connection (no keep-alive: each request picks a pod anew); resolves to an error
 * text or undefined. The client waits as long as the forward holds a connection while no pod is
 * Ready (30 s): every old pod is deleted at once, so a request may live through two generations of
 * replacements, and under load a shorter client timeout measured the cluster's pod start, not the forward.
 */
function probe(port: number): Promise<string | undefined> {
  return new Promise((resolveProbe) => {
    const req = request({ host: '127.0.0.1', port, path: '/version', agent: false, timeout: HOLD_MS }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolveProbe(response.statusCode === 200 && body.trim() === 'v1' ? undefined : `HTTP ${response.statusCode} ${body.slice(0, 80)}`));
      response.on('error', (error) => resolveProbe(String(error)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HOLD_MS / 1000}s`)));
    req.on('error', (error) => resolveProbe(String(error)));
    req.end();
  });
}

// One replica (every replacement leaves no Ready pod for a moment: connections must be held) and
// two (a Ready pod is always there: the forward must move to it and never pick a terminating one).
describe.skipIf(!present).each([{ replicas: 1 }, { replicas: 2 }])('the forward while pods are replaced (real cluster, $replicas replica(s))', ({ replicas }) => {
  let cluster: Cluster;
  let app: ShellApp;
  let cli: RunningCli;

  beforeAll(async () => {
    cluster = await openCluster(`forward${replicas}`);
    // A free local port of our own: 80 would default to 8080, which something else may hold.
    app = await shellApp(`forward${replicas}`, { replicas, extraConfig: `portForward:\n  - {resource: service/web, port: 80, localPort: ${await freePort()}}\n` });
    cli = startDevloop(app.dir, ['run', '--tail', '-n', cluster.namespace, '-o', 'json'], { ...cluster.env, ...app.env });
    await cli.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 180_000);
  }, 240_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it(`${REPLACEMENTS} pod replacements under a request every 100 ms: 0 failed requests; each new pod's logs are streamed`, async () => {
    expect(cli.events.find((e) => e.type === 'iteration' && e.status !== 'start')).toMatchObject({ status: 'ok' });
    const ready = await cli.waitFor((e) => e.type === 'forward' && e.resource === 'service/web' && e.status === 'ready', 30_000);
    const port = Number(ready.localPort);

    // A request every 100 ms, whether or not the previous one has answered (a client does not wait).
    const failures: string[] = [];
    const inFlight: Promise<void>[] = [];
    const timer = setInterval(() => inFlight.push(probe(port).then((failure) => void (failure && failures.push(`${new Date().toISOString()} ${failure}`)))), 100);

    const replaced: string[] = [];
    try {
      for (let i = 0; i < REPLACEMENTS; i++) {
        const old = (await livePods(cluster, 'web')).map((p) => p.metadata!.name!);
        // What `kubectl delete pod` does: a graceful delete; the ReplicaSet creates the replacement.
        await Promise.all(old.map((name) => cluster.core.deleteNamespacedPod({ name, namespace: cluster.namespace })));
        // The replacement is complete once every replica is Ready again (as `kubectl rollout status` waits):
        // deleting a pod the moment it turns Ready would test churn faster than any backlog drains.
        const next = await until(
          'Ready replacement pods for every replica',
          async () => {
            const fresh = (await livePods(cluster, 'web')).filter((p) => isReady(p) && !old.includes(p.metadata!.name!));
            return fresh.length >= replicas && fresh;
          },
          60_000,
        );
        replaced.push(...next.map((p) => p.metadata!.name!));
        // The next replacement only once the old pod is gone from the API (its 2 s grace is over).
        await until('the old pod to be gone', async () => (await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: 'app=web' })).items.every((p) => !old.includes(p.metadata!.name!)), 60_000);
      }
    } finally {
      clearInterval(timer);
      await Promise.all(inFlight);
    }
    const requests = inFlight.length;

    const rate = (100 * failures.length) / requests;
    process.stdout.write(`forward under ${REPLACEMENTS} pod replacements (${replicas} replica(s)): ${failures.length} of ${requests} requests failed (${rate.toFixed(1)} %)\n`);
    for (const pod of replaced) await cli.waitFor((e) => e.type === 'log' && e.pod === pod && String(e.line).startsWith(`starting ${pod} version=v1`), 15_000);
    // On failure: when each request failed, next to what the forward said meanwhile.
    const story = [...failures, ...cli.events.filter((e) => e.type === 'forward' || e.type === 'error').map((e) => `${String(e.time)} forward ${String(e.status ?? e.code)} ${String(e.pod ?? e.message ?? '')}`)].sort().join('\n');
    expect(failures, `${failures.length} of ${requests} requests failed (${rate.toFixed(1)} %):\n${story}`).toEqual([]);
  }, 300_000);
});
