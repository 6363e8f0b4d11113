import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { Script } from 'node:vm';
import { EventBus } from '../../src/events/bus.js';
import { DevloopError } from '../../src/errors.js';
import { startWebView, type WebView } from '../../src/ui/web/server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with full control over method and Host (fetch cannot set Host). */
function call(port: number, path: string, options: { method?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface SseEvent {
  event: string;
  data: unknown;
}

/** An SSE client: collects events; `next(name)` waits for the next one of that name after the last one taken. */
function subscribe(port: number): Promise<{ events: SseEvent[]; next(name: string, timeoutMs?: number): Promise<SseEvent>; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    let cursor = 0;
    let waiter: (() => void) | undefined;
    const take = (name: string): SseEvent | undefined => {
      const index = events.findIndex((e, i) => i >= cursor && e.event === name);
      if (index === -1) return undefined;
      cursor = index + 1;
      return events[index];
    };
    const req = request({ host: '127.0.0.1', port, path: '/events', headers: { host: `localhost:${port}` } }, (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buffer = '';
      res.setEncoding('utf8');
      const ended = new Promise<void>((done) => res.on('end', () => done()));
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name && data !== undefined) events.push({ event: name, data: JSON.parse(data) });
        }
        waiter?.();
      });
      resolve({
        events,
        ended,
        next(name, timeoutMs = 2000) {
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no ${name} event within ${timeoutMs}ms; got ${events.map((e) => e.event).join(', ')}`)), timeoutMs);
            const check = (): void => {
              const found = take(name);
              if (!found) return;
              clearTimeout(timer);
              waiter = undefined;
              done(found);
            };
            waiter = check;
            check();
          });
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let view: WebView | undefined;
let blocker: Server | undefined;
afterEach(async () => {
  await view?.close();
  view = undefined;
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  blocker = undefined;
});

describe('web view server', () => {
  it('serves the page, its script and styles on 127.0.0.1 under a strict CSP', async () => {
    view = await startWebView(new EventBus());
    expect(view.url).toBe(`http://127.0.0.1:${view.port}/`);
    const page = await call(view.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="/app.js" defer></script>');
    const script = await call(view.port, '/app.js');
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(() => new Script(script.body)).not.toThrow(); // the shipped string is valid JavaScript
    expect((await call(view.port, '/app.css')).status).toBe(200);
    expect((await call(view.port, '/nope')).status).toBe(404);
  });

  it('refuses other methods and other Host names (DNS rebinding)', async () => {
    view = await startWebView(new EventBus());
    const post = await call(view.port, '/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    expect((await call(view.port, '/events', { host: `attacker.example:${view.port}` })).status).toBe(403);
    expect((await call(view.port, '/state.json', { host: 'attacker.example' })).status).toBe(403);
    expect((await call(view.port, '/', { host: `localhost:${view.port}` })).status).toBe(200);
    expect((await call(view.port, '/', { host: `LOCALHOST:${view.port}` })).status).toBe(200);
  });

  it('gives a page opened later the state so far, then streams log lines and summaries; tells it when the session ends', async () => {
    const bus = new EventBus();
    view = await startWebView(bus, { summaryDelayMs: 10 });
    bus.emit({ type: 'iteration', n: 1, status: 'start', reason: 'initial build and deploy', changed: [] });
    bus.emit({ type: 'log', pod: 'web-1', container: 'web', line: 'starting web-1' });

    const client = await subscribe(view.port);
    const first = await client.next('summary');
    expect(first.data).toMatchObject({ iterations: [{ n: 1, status: 'running' }], streams: [{ pod: 'web-1', container: 'web', kept: 1, seen: 1 }] });
    expect((await client.next('logs')).data).toEqual([expect.objectContaining({ pod: 'web-1', line: 'starting web-1' })]);

    bus.emit({ type: 'log', pod: 'web-1', container: 'web', line: 'GET /version' });
    expect((await client.next('log')).data).toMatchObject({ pod: 'web-1', line: 'GET /version' });

    // A burst of changes gives one summary.
    bus.emit({ type: 'stage', stage: 'build', artifact: 'web', status: 'end', durationMs: 800 });
    bus.emit({ type: 'iteration', n: 1, status: 'ok', durationMs: 1000, stages: [{ stage: 'build', durationMs: 800 }] });
    const second = await client.next('summary');
    expect(second.data).toMatchObject({ iterations: [{ n: 1, status: 'ok', durationMs: 1000 }], artifacts: [{ image: 'web', stage: 'build', status: 'end' }] });
    expect(client.events.filter((e) => e.event === 'summary')).toHaveLength(2);

    const state = JSON.parse((await call(view.port, '/state.json')).body) as { iterations: unknown[] };
    expect(state.iterations).toHaveLength(1);

    const port = view.port;
    const closing = view.close();
    view = undefined;
    await client.next('end');
    await client.ended;
    await closing;
    // Closed: no listener left on the bus, the port refuses connections.
    bus.emit({ type: 'log', pod: 'web-1', line: 'after' });
    await expect(call(port, '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('drops a page that stopped reading instead of buffering the session for it', async () => {
    const bus = new EventBus();
    view = await startWebView(bus, { limits: { iterations: 10, linesPerPod: 10, pods: 10, messages: 10 } });
    const port = view.port;
    const received = await new Promise<{ bytes: () => number; ended: Promise<void>; resume: () => void }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/events', agent: false, headers: { host: `127.0.0.1:${port}` } }, (res) => {
        res.pause(); // a tab that stopped reading
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        const ended = new Promise<void>((done) => {
          res.on('close', () => done());
          res.on('error', () => done());
        });
        resolve({ bytes: () => bytes, ended, resume: () => res.resume() });
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setImmediate(r));
    const line = 'x'.repeat(1024);
    const sent = 20_000;
    for (let i = 0; i < sent; i++) bus.emit({ type: 'log', pod: 'web-1', container: 'web', line });
    received.resume();
    await received.ended;
    expect(received.bytes()).toBeLessThan(sent * 1024);
  });

  it('names a busy --ui-port', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    const error = await startWebView(new EventBus(), { port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevloopError);
    expect(error).toMatchObject({ code: 'USAGE', message: `--ui-port ${port}: 127.0.0.1:${port} is in use` });
  });
});
