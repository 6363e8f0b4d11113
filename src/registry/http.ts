/**
 * The registry client's HTTP exchange, on node:http/https. Node's global `fetch` loads its undici
 * implementation on first use (40–80 ms of one CPU on every command that pushes, before the first byte
 * goes out); node:http is already loaded and keeps connections alive the same way. Only what the
 * distribution API needs: a byte body, redirects followed (dropping credentials across hosts, like
 * fetch), an abort signal covering the whole exchange, and a small Response-like answer.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpInit {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal: AbortSignal;
}

/** What the registry client reads from an answer (a subset of fetch's Response). */
export interface HttpResponse {
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null };
  /** Discards the rest of the body (the connection is reused). */
  body: { cancel(): Promise<void> } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
  json(): Promise<unknown>;
}

/** A network failure; `code` is the system error (ECONNREFUSED, ECONNRESET, …) when there is one. */
export class HttpNetworkError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
const MAX_REDIRECTS = 10;

/**
 * One request, following redirects. Rejects with `signal.reason` when the signal aborts (also while the
 * body is read), with HttpNetworkError when the connection fails.
 */
export async function send(url: string, init: HttpInit): Promise<HttpResponse> {
  let target = new URL(url);
  let { method, body } = init;
  let headers = { ...init.headers };
  for (let hop = 0; ; hop++) {
    const response = await exchange(target, method, headers, body, init.signal);
    const location = response.message.headers.location;
    if (!isRedirect(response.message.statusCode ?? 0) || !location || hop >= MAX_REDIRECTS) return wrap(target, response.message, init.signal);
    response.message.resume();
    const next = new URL(location, target);
    // As fetch: 303 (and 301/302 after a POST) become a GET without body; credentials never follow to another origin.
    const status = response.message.statusCode!;
    if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
    }
    if (next.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    target = next;
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function exchange(url: URL, method: string, headers: Record<string, string>, body: Uint8Array | undefined, signal: AbortSignal): Promise<{ message: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const secure = url.protocol === 'https:';
    const outgoing: Record<string, string> = { ...headers };
    if (body !== undefined || method === 'PUT' || method === 'POST' || method === 'PATCH') outgoing['content-length'] = String(body?.length ?? 0);
    const request = (secure ? httpsRequest : httpRequest)(url, { method, headers: outgoing, agent: secure ? agents.https : agents.http });
    const onAbort = (): void => {
      request.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    request.once('response', (message) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ message });
    });
    request.once('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(signal.aborted ? signal.reason : new HttpNetworkError(error.message, error.code));
    });
    request.end(body);
  });
}

function wrap(url: URL, message: IncomingMessage, signal: AbortSignal): HttpResponse {
  let consumed = false;
  const read = (): Promise<Buffer> => {
    consumed = true;
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        message.destroy();
        return reject(signal.reason);
      }
      const chunks: Buffer[] = [];
      const onAbort = (): void => {
        message.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      message.on('data', (chunk: Buffer) => chunks.push(chunk));
      message.once('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(Buffer.concat(chunks));
      });
      message.once('error', (error: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? signal.reason : new HttpNetworkError(error.message, error.code));
      });
    });
  };
  return {
    status: message.statusCode ?? 0,
    statusText: message.statusMessage ?? '',
    url: url.toString(),
    headers: {
      get(name) {
        const value = message.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: {
      async cancel() {
        if (!consumed) {
          consumed = true;
          message.resume(); // drained, so the kept-alive connection can serve the next request
        }
      },
    },
    async arrayBuffer() {
      const bytes = await read();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
    async json() {
      return JSON.parse((await read()).toString('utf8')) as unknown;
    },
  };
}
