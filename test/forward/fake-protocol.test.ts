/**
 * The fake API server's pods/portforward and pods/log endpoints, spoken to directly: the product is
 * also run against real clusters, so the fake must answer as the kubelet does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:https';
import WebSocket from 'ws';
import { app, deploy, servingPods, startCluster, type Cluster } from './helpers.js';

let cluster: Cluster;
let pod: string;
beforeAll(async () => {
  cluster = await startCluster();
  await deploy(cluster, app({ name: 'proto', servicePort: 80 }));
  pod = servingPods(cluster.fake, 'proto')[0]!;
});
afterAll(async () => {
  await cluster?.stop();
});

function open(path: string, protocols: string[]): Promise<{ ws: WebSocket; frames: Buffer[]; closed: Promise<void> } | { status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${cluster.fake.url.replace('https', 'wss')}${path}`, protocols, { ca: cluster.fake.caCert, headers: { Authorization: `Bearer ${cluster.fake.token}` } });
    const frames: Buffer[] = [];
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.on('message', (data: Buffer) => frames.push(data));
    ws.once('open', () => resolve({ ws, frames, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => undefined);
  });
}

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.fake.url}${path}`, { ca: cluster.fake.caCert, headers: { Authorization: `Bearer ${cluster.fake.token}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const until = async (check: () => boolean, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('fake pods/portforward', () => {
  it('negotiates v4.channel.k8s.io from client-node\'s list and prefixes each channel with the port', async () => {
    const opened = await open(`/api/v1/namespaces/default/pods/${pod}/portforward?ports=8080`, ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']);
    if (!('ws' in opened)) throw new Error(`upgrade failed: ${opened.status}`);
    expect(opened.ws.protocol).toBe('v4.channel.k8s.io');
    await until(() => opened.frames.length >= 2);
    expect(opened.frames.slice(0, 2).map((f) => [...f])).toEqual([[0, 0x90, 0x1f], [1, 0x90, 0x1f]]);
    opened.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')]));
    await until(() => Buffer.concat(opened.frames.slice(2).map((f) => f.subarray(1))).toString().includes(`hello from ${pod}`));
    expect(opened.frames.slice(2).every((f) => f[0] === 0)).toBe(true);
    opened.ws.close();
    await opened.closed;
  });

  it('reports a port nothing listens on through the error channel, then closes', async () => {
    const opened = await open(`/api/v1/namespaces/default/pods/${pod}/portforward?ports=9999`, ['v4.channel.k8s.io']);
    if (!('ws' in opened)) throw new Error('upgrade failed');
    await opened.closed;
    const error = opened.frames.filter((f) => f[0] === 1).slice(1).map((f) => f.subarray(1).toString()).join('');
    expect(error).toMatch(/^error forwarding port 9999 to pod \w+, uid : failed to execute portforward in network namespace .*connect: connection refused/);
  });

  it('refuses unknown subprotocols, missing ports and unknown pods like the real server', async () => {
    expect(await open(`/api/v1/namespaces/default/pods/${pod}/portforward?ports=8080`, ['v5.channel.k8s.io'])).toMatchObject({ status: 403 });
    const noPorts = await open(`/api/v1/namespaces/default/pods/${pod}/portforward`, ['v4.channel.k8s.io']);
    expect(noPorts).toMatchObject({ status: 400 });
    expect(JSON.parse((noPorts as { body: string }).body).message).toBe('query parameter "port" is required');
    expect(await open('/api/v1/namespaces/default/pods/nope/portforward?ports=8080', ['v4.channel.k8s.io'])).toMatchObject({ status: 404 });
  });
});

describe('fake pods/log', () => {
  const base = () => `/api/v1/namespaces/default/pods/${pod}/log`;

  it('serves text with kubelet timestamps, tailLines and second-precision sinceTime', async () => {
    const all = await get(`${base()}?container=proto&timestamps=true`);
    expect(all.status).toBe(200);
    const lines = all.body.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}000Z starting proto image=example.test\/proto:1$/);
    expect((await get(`${base()}?tailLines=1`)).body).toBe('GET /x\n'); // the request of the first test
    // sinceTime reaches the kubelet truncated to the second: a time just after the last line still returns it.
    const lastStamp = lines.at(-1)!.split(' ')[0]!;
    const justAfter = new Date(Date.parse(lastStamp) + 1).toISOString();
    if (justAfter.slice(0, 19) === lastStamp.slice(0, 19)) expect((await get(`${base()}?sinceTime=${encodeURIComponent(justAfter)}`)).body).toContain('GET /x\n');
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(`${base()}?sinceTime=${encodeURIComponent(future)}`)).body).toBe('');
  });

  it('answers bad requests with Status errors', async () => {
    const unknown = await get(`${base()}?container=nope`);
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).message).toBe(`container nope is not valid for pod ${pod}`);
    const both = await get(`${base()}?sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z`);
    expect(both.status).toBe(422);
    expect((await get(`${base()}?tailLines=-1`)).status).toBe(422);
    expect((await get('/api/v1/namespaces/default/pods/nope/log')).status).toBe(404);
    const previous = await get(`${base()}?previous=true`);
    expect(previous.status).toBe(400);
    expect(JSON.parse(previous.body).message).toBe(`previous terminated container "proto" in pod "${pod}" not found`);
  });
});
