/**
 * A small HTTP proxy on 127.0.0.1 in front of a registry: records every request (method, path,
 * query) so tests can count blob uploads, and can inject faults (a 500 or a dropped connection)
 * into chosen requests. The Host header is passed through, so the registry's upload Locations
 * point back at the proxy.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

/** status-500: answer 500; reset: drop the connection; bad-digest: forward, but lie in Docker-Content-Digest. */
export type Fault = 'status-500' | 'reset' | 'bad-digest';

export interface RegistryProxy {
  /** host:port of the proxy. */
  host: string;
  requests: ProxiedRequest[];
  /** Fails the next `count` requests that `match` accepts with `fault`. */
  injectFault(match: (r: ProxiedRequest) => boolean, fault: Fault, count?: number): void;
  /** Digests of completed monolithic/chunked uploads (PUT …/blobs/uploads/…?digest=). */
  uploadedDigests(): string[];
  reset(): void;
  close(): Promise<void>;
}

export async function startRegistryProxy(target: string): Promise<RegistryProxy> {
  const [targetHost, targetPort] = target.split(':');
  const requests: ProxiedRequest[] = [];
  const faults: { match: (r: ProxiedRequest) => boolean; fault: Fault; left: number }[] = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const record: ProxiedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
    requests.push(record);
    const fault = faults.find((f) => f.left > 0 && f.match(record));
    const lie = fault?.fault === 'bad-digest';
    if (fault && !lie) {
      fault.left--;
      if (fault.fault === 'reset') {
        req.socket.destroy();
      } else {
        req.resume();
        req.on('end', () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"errors":[{"code":"UNKNOWN","message":"injected by the test proxy"}]}');
        });
      }
      return;
    }
    const upstream = httpRequest(
      { host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const headers = { ...answer.headers };
        if (lie && fault && headers['docker-content-digest']) {
          fault.left--;
          headers['docker-content-digest'] = `sha256:${'0'.repeat(64)}`;
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    host: `127.0.0.1:${port}`,
    requests,
    injectFault: (match, fault, count = 1) => faults.push({ match, fault, left: count }),
    uploadedDigests: () =>
      requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.query.get('digest')).map((r) => r.query.get('digest')!),
    reset: () => {
      requests.length = 0;
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
