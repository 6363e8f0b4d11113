/** The registry client's node:http transport: redirects (method, body, credentials), aborts, network errors. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpNetworkError, send } from '../../src/registry/http.js';
import { freePort } from '../support/services.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const signal = () => AbortSignal.timeout(5_000);

describe('registry http transport', () => {
  it('follows a 307 with the same method and body; credentials go to the same origin only', async () => {
    const storage = await serve((_req, res) => res.writeHead(201, { 'docker-content-digest': 'sha256:x' }).end());
    const registry = await serve((req, res) => {
      if (req.url === '/same') return res.writeHead(307, { location: '/final' }).end();
      if (req.url === '/final') return res.writeHead(201).end('ok');
      res.writeHead(307, { location: `${storage.url}/blob` }).end();
    });
    const same = await send(`${registry.url}/same`, { method: 'PUT', headers: { authorization: 'Bearer t' }, body: Buffer.from('data'), signal: signal() });
    expect(same.status).toBe(201);
    expect(Buffer.from(await same.arrayBuffer()).toString()).toBe('ok');
    expect(registry.seen.at(-1)).toEqual({ method: 'PUT', url: '/final', authorization: 'Bearer t', body: 'data' });

    const other = await send(`${registry.url}/upload`, { method: 'PUT', headers: { authorization: 'Bearer t' }, body: Buffer.from('blob'), signal: signal() });
    expect(other.status).toBe(201);
    expect(other.headers.get('Docker-Content-Digest')).toBe('sha256:x');
    expect(storage.seen).toEqual([{ method: 'PUT', url: '/blob', authorization: undefined, body: 'blob' }]);
  });

  it('a 303 becomes a GET without body; JSON bodies parse; cancel drains for the next request', async () => {
    const server = await serve((req, res) => {
      if (req.method === 'POST') return res.writeHead(303, { location: '/token' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'abc' }));
    });
    const answer = await send(`${server.url}/auth`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('a=b'), signal: signal() });
    expect(await answer.json()).toEqual({ token: 'abc' });
    expect(server.seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /auth a=b', 'GET /token ']);
    const first = await send(`${server.url}/x`, { method: 'GET', headers: {}, signal: signal() });
    await first.body?.cancel();
    expect((await send(`${server.url}/y`, { method: 'HEAD', headers: {}, signal: signal() })).status).toBe(200);
  });

  it('rejects with the signal reason on a timeout (also while the body is read), and names the system error of a refused connection', async () => {
    const slow = await serve(() => undefined); // never answers
    await expect(send(`${slow.url}/`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const dribble = await serve((_req, res) => res.writeHead(200).write('partial'));
    const answer = await send(`${dribble.url}/`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(300) });
    await expect(answer.arrayBuffer()).rejects.toMatchObject({ name: 'TimeoutError' });
    const port = await freePort();
    const refused = send(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {}, signal: signal() });
    await expect(refused).rejects.toBeInstanceOf(HttpNetworkError);
    await expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
