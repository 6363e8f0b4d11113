/**
 * `devloop dev --ui`: a local page that shows the session live. node:http only: GET / (page),
 * /app.js, /app.css, /state.json (the summary), /events (Server-Sent Events: `summary`, `logs` once
 * on connect, then `log` per pod log line, `summary` when the rest changed, `end` when devloop stops).
 * Bound to 127.0.0.1; requests naming another host (DNS rebinding) or using another method are refused.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBus } from '../../events/bus.js';
import { UsageError } from '../../errors.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';
import { DEFAULT_LIMITS, WebState, type WebLimits } from './state.js';

export interface WebViewOptions {
  /** 0 (default): a free port. */
  port?: number;
  limits?: WebLimits;
  /** Summaries are coalesced: at most one per this many ms (push progress comes in bursts). */
  summaryDelayMs?: number;
  /** SSE comment to keep idle connections open through proxies and sleeping tabs. */
  keepAliveMs?: number;
}

export interface WebView {
  url: string;
  port: number;
  /** Tells open pages the session ended, then stops the server. */
  close(): Promise<void>;
}

export const HOST = '127.0.0.1';
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost']);

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

const STATIC: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: PAGE_JS },
  '/app.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
};

/** Starts the server and subscribes to `bus` (call before the events to show are emitted). */
export async function startWebView(bus: EventBus, options: WebViewOptions = {}): Promise<WebView> {
  const state = new WebState(options.limits ?? DEFAULT_LIMITS);
  const clients = new Set<ServerResponse>();
  const summaryDelayMs = options.summaryDelayMs ?? 100;
  let pending: NodeJS.Timeout | undefined;

  const send = (client: ServerResponse, event: string, data: unknown): void => {
    // A page that stopped reading (a sleeping tab) must not make devloop buffer the session: drop it;
    // the browser reconnects and gets a fresh summary and the kept lines.
    if (client.writableLength > MAX_BUFFERED_BYTES) {
      clients.delete(client);
      client.destroy();
      return;
    }
    client.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcastSummary = (): void => {
    pending = undefined;
    const summary = state.summary();
    for (const client of clients) send(client, 'summary', summary);
  };

  const unsubscribe = bus.on((event) => {
    const change = state.apply(event);
    if (!change || clients.size === 0) return;
    if (change.kind === 'log') for (const client of clients) send(client, 'log', change.line);
    else pending ??= setTimeout(broadcastSummary, summaryDelayMs);
  });

  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    const refusal = refuse(request);
    if (refusal) {
      if (refusal.status === 405) response.setHeader('allow', 'GET');
      response.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${refusal.message}\n`);
      return;
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      response.write('retry: 2000\n\n');
      send(response, 'summary', state.summary());
      send(response, 'logs', state.logs());
      clients.add(response);
      request.on('close', () => clients.delete(response));
      return;
    }
    if (path === '/state.json') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(state.summary()));
      return;
    }
    const file = STATIC[path];
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new UsageError(`--ui-port ${options.port}: ${HOST}:${options.port} is in use`, { hint: 'choose another port, or leave --ui-port out for a free one' }));
      else if (error.code === 'EACCES') reject(new UsageError(`--ui-port ${options.port}: not allowed to listen on ${HOST}:${options.port}`, { hint: 'ports below 1024 need privileges; choose a port from 1024 to 65535' }));
      else reject(error);
    });
    server.listen(options.port ?? 0, HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const keepAlive = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, options.keepAliveMs ?? 15_000);
  keepAlive.unref();

  return {
    url: `http://${HOST}:${port}/`,
    port,
    async close() {
      unsubscribe();
      clearInterval(keepAlive);
      if (pending) {
        clearTimeout(pending);
        broadcastSummary();
      }
      for (const client of clients) {
        send(client, 'end', {});
        client.end();
      }
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Why a request is refused, if it is: only GET, only for this machine's names (no DNS rebinding). */
function refuse(request: IncomingMessage): { status: number; message: string } | undefined {
  if (request.method !== 'GET') return { status: 405, message: 'only GET' };
  const host = request.headers.host;
  if (!host || !ALLOWED_HOSTS.has(hostnameOf(host))) return { status: 403, message: 'this page answers only to 127.0.0.1 and localhost' };
  return undefined;
}

function hostnameOf(host: string): string {
  const colon = host.lastIndexOf(':');
  return (colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host).toLowerCase();
}
