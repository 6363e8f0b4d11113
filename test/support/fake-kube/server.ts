/**
 * The HTTPS front: bearer-token authentication, the request log, injected failures, URL routing
 * (/version, discovery, resource and subresource paths, the legacy /watch/ prefix), body decoding
 * by Content-Type, and turning registry results/StatusErrors into responses.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { Registry, DeleteOptions, PatchType } from './registry.js';
import type { ResourceInfo } from './discovery.js';
import { apiVersionOf } from './discovery.js';
import { StatusError, statuses, sendJson, sendStatus, rejectUpgrade, cause } from './status.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { serveWatch, type OpenWatch } from './watch.js';
import type { PodRuntime } from './runtime.js';
import { podKeyOf } from './runtime.js';
import type { Kubelet } from './controllers/kubelet.js';
import type { ServerVersion, SubresourceContext } from './context.js';
import type { Certificate } from './tls.js';
import type { FakePod, KubeObject, Status } from './types.js';
import { handleLogs } from './logs.js';
import { handleExec } from './exec.js';
import { handlePortForward } from './portforward.js';

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  fieldManager?: string;
  userAgent?: string;
  /** Response status code, once answered. */
  status?: number;
}

export type RequestFilter = { method?: string; path?: string | RegExp } | ((entry: RequestLogEntry) => boolean);

interface Injected {
  remaining: number;
  status: 500 | 409 | 503;
  filter?: RequestFilter;
}

export interface ApiServerOptions {
  registry: Registry;
  runtime: PodRuntime;
  kubelet: Kubelet;
  token: string;
  tls: Certificate;
  oldServer: boolean;
  bookmarkMs: number;
  version: ServerVersion;
}

const PATCH_TYPES: Record<string, PatchType | 'apply'> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

interface Route {
  res: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  watchPrefix: boolean;
}

function matchesFilter(filter: RequestFilter | undefined, entry: RequestLogEntry): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(entry);
  if (filter.method && filter.method.toUpperCase() !== entry.method) return false;
  if (filter.path !== undefined) {
    if (typeof filter.path === 'string' ? !entry.path.startsWith(filter.path) : !filter.path.test(entry.path)) return false;
  }
  return true;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export class ApiServer {
  readonly requestLog: RequestLogEntry[] = [];
  private readonly server: Server;
  private readonly injected: Injected[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket | Duplex>();
  /** TLS connections accepted so far (a client that keeps connections alive opens few). */
  connectionsAccepted = 0;
  private oldServer: boolean;
  private port = 0;
  private unavailable = false;

  constructor(private readonly options: ApiServerOptions) {
    this.oldServer = options.oldServer;
    this.server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('secureConnection', (socket) => {
      this.connectionsAccepted++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /**
   * An outage: stop listening (new connections are refused) and reset every open connection
   * (requests, watches, logs, port-forwards); `false` listens again on the same port.
   */
  async setUnavailable(down: boolean): Promise<void> {
    if (down === this.unavailable) return;
    this.unavailable = down;
    if (down) {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      this.dropWatches();
      await closed;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.dropWatches();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  failNext(n: number, status: 500 | 409 | 503, filter?: RequestFilter): void {
    this.injected.push({ remaining: n, status, filter });
  }

  dropWatches(): void {
    for (const watch of [...this.watches]) watch.drop();
  }

  sendBookmarks(): void {
    for (const watch of this.watches) watch.bookmark();
  }

  private stallGonePodForwards = false;

  stallPortForwardsOfGonePods(on: boolean): void {
    this.stallGonePodForwards = on;
  }

  setOldServer(old: boolean): void {
    this.oldServer = old;
  }

  // ---- plumbing ----

  private fail(res: ServerResponse, error: unknown): void {
    const status = error instanceof StatusError ? error.status : statuses.internal(String((error as Error)?.stack ?? error));
    if (res.headersSent) {
      res.end();
      return;
    }
    sendStatus(res, status);
  }

  private log(req: IncomingMessage, url: URL): RequestLogEntry {
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    if (req.headers['content-type']) entry.contentType = req.headers['content-type'];
    const manager = url.searchParams.get('fieldManager');
    if (manager) entry.fieldManager = manager;
    if (req.headers['user-agent']) entry.userAgent = req.headers['user-agent'];
    this.requestLog.push(entry);
    return entry;
  }

  private authenticated(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.options.token}`;
  }

  /** An injected failure for this request, if one is armed. */
  private injectedFailure(entry: RequestLogEntry, route: Route | undefined): Status | undefined {
    const armed = this.injected.find((i) => i.remaining > 0 && matchesFilter(i.filter, entry));
    if (!armed) return undefined;
    armed.remaining -= 1;
    if (armed.status === 409) {
      const ref = route ? { group: route.res.group, resource: route.res.name } : { group: '', resource: 'unknown' };
      return statuses.conflict(ref, route?.name ?? '');
    }
    if (armed.status === 503) return statuses.serviceUnavailable();
    return statuses.internal('injected failure (fake-kube failNextRequests)');
  }

  private route(pathname: string): Route | 'discovery' | undefined {
    const segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (segments[0] === 'api') {
      group = '';
      version = segments[1];
      rest = segments.slice(2);
    } else if (segments[0] === 'apis') {
      group = segments[1] ?? '';
      version = segments[2];
      rest = segments.slice(3);
    } else return undefined;
    if (!version || !rest.length) return 'discovery';
    const { discovery } = this.options.registry;
    let watchPrefix = false;
    if (rest[0] === 'watch') {
      watchPrefix = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && discovery.byPath(group, version, rest[2]!)?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const res = discovery.byPath(group, version, rest[0]!);
    if (!res || rest.length > 3) return undefined;
    if (res.namespaced && namespace === undefined && rest.length > 1) return undefined;
    if (!res.namespaced && namespace !== undefined) return undefined;
    return { res, namespace, name: rest[1], subresource: rest[2], watchPrefix };
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `https://127.0.0.1:${this.port}`);
    const entry = this.log(req, url);
    res.on('finish', () => (entry.status = res.statusCode));
    if (!this.authenticated(req)) return sendStatus(res, statuses.unauthorized());

    const { registry } = this.options;
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const routed = path.startsWith('/api') ? this.route(path) : undefined;
    const injected = this.injectedFailure(entry, typeof routed === 'object' ? routed : undefined);
    if (injected) return sendStatus(res, injected);

    if (path === '/version') {
      return sendJson(res, 200, {
        major: String(this.options.version.major), minor: String(this.options.version.minor), gitVersion: this.options.version.gitVersion, gitCommit: 'fake', gitTreeState: 'clean',
        buildDate: '2024-08-14T00:00:00Z', goVersion: 'go1.22.5', compiler: 'gc', platform: 'linux/amd64',
      });
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('ok');
    }
    if (path === '/api') return sendJson(res, 200, registry.discovery.apiVersions(`127.0.0.1:${this.port}`));
    if (path === '/apis') return sendJson(res, 200, registry.discovery.apiGroupList());
    if (routed === 'discovery') {
      const parts = path.split('/').filter(Boolean);
      const doc = parts[0] === 'api' ? registry.discovery.resourceList('', parts[1]!) : parts.length === 2 ? registry.discovery.apiGroup(parts[1]!) : registry.discovery.resourceList(parts[1]!, parts[2]!);
      return doc ? sendJson(res, 200, doc) : sendStatus(res, statuses.noResource());
    }
    if (!routed) {
      if (path.startsWith('/api')) return sendStatus(res, statuses.noResource());
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('404 page not found\n');
    }
    await this.serveResource(req, res, url, routed);
  }

  private async serveResource(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): Promise<void> {
    const { registry } = this.options;
    const { res: info, namespace, name, subresource } = route;
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const dryRun = q.get('dryRun') === 'All';
    const manager = q.get('fieldManager') || prefixFromUserAgent(req.headers['user-agent']);

    if (subresource && !info.subresources.includes(subresource)) return sendStatus(res, statuses.noResource());
    if (info.kind === 'Pod' && name && subresource && ['log', 'exec', 'portforward', 'attach'].includes(subresource)) {
      if (subresource !== 'log') return sendStatus(res, statuses.badRequest('Upgrade request required'));
      const ctx = this.subresourceContext(namespace!, name, q);
      return handleLogs(ctx, req, res);
    }
    if (subresource && subresource !== 'status' && subresource !== 'eviction') return sendStatus(res, statuses.methodNotAllowed());

    if (method === 'GET' && !name) {
      const watch = route.watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
      const labels = labelMatcher(q.get('labelSelector'));
      const fields = fieldMatcher(q.get('fieldSelector'), info.name, info.kind);
      const matcher = (o: KubeObject) => labels(o) && fields(o);
      if (watch) {
        const open: OpenWatch = serveWatch(
          registry,
          {
            res: info,
            namespace,
            matcher,
            resourceVersion: q.get('resourceVersion'),
            timeoutSeconds: q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined,
            bookmarks: q.get('allowWatchBookmarks') === 'true',
          },
          res,
          this.options.bookmarkMs,
          () => this.watches.delete(open),
        );
        this.watches.add(open);
        return;
      }
      return sendJson(res, 200, this.listBody(info, registry.list(info, namespace).filter(matcher), q));
    }
    if (method === 'GET') return sendJson(res, 200, registry.get(info, namespace, name!));

    const text = await readBody(req);
    const contentType = mediaType(req.headers['content-type']);

    if (method === 'POST' && !name) {
      const body = this.decode(text, contentType);
      // Built-in types take apiVersion/kind from the URL when the body has none (checked on a real 1.26).
      if (!body.kind && !info.custom) Object.assign(body, { apiVersion: apiVersionOf(info), kind: info.kind });
      if (!body.kind) throw new StatusError(statuses.badRequest(`Object 'Kind' is missing in '${text.slice(0, 200)}'`));
      const created = registry.create(info, namespace, body, { manager, dryRun });
      return sendJson(res, 201, created);
    }
    if (method === 'POST' && subresource === 'eviction') {
      registry.delete(info, namespace, name!, {});
      return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    if (method === 'PUT' && name) {
      const body = this.decode(text, contentType);
      const sub = subresource === 'status' ? 'status' : undefined;
      return sendJson(res, 200, registry.update(info, namespace, name, body, { manager, dryRun, subresource: sub }));
    }
    if (method === 'PATCH' && name) return this.patch(res, route, q, text, contentType, manager, dryRun);
    if (method === 'DELETE' && name) {
      const options = this.deleteOptions(q, text);
      const result = registry.delete(info, namespace, name, options);
      return sendJson(res, result.code, result.body);
    }
    if (method === 'DELETE' && !name) {
      const labels = labelMatcher(q.get('labelSelector'));
      const fields = fieldMatcher(q.get('fieldSelector'), info.name, info.kind);
      const options = this.deleteOptions(q, text);
      const items = registry.list(info, namespace).filter((o) => labels(o) && fields(o));
      for (const item of items) registry.delete(info, item.metadata.namespace, item.metadata.name!, options);
      return sendJson(res, 200, this.listBody(info, items, new URLSearchParams()));
    }
    return sendStatus(res, statuses.methodNotAllowed());
  }

  private listBody(info: ResourceInfo, items: KubeObject[], q: URLSearchParams): unknown {
    const limit = Number(q.get('limit') ?? 0);
    let start = 0;
    const token = q.get('continue');
    if (token) {
      try {
        start = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { start: number }).start;
      } catch {
        throw new StatusError(statuses.badRequest('continue key is not valid: illegal base64 data'));
      }
    }
    const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    const metadata: Record<string, unknown> = { resourceVersion: String(this.options.registry.store.resourceVersion) };
    if (limit > 0 && start + limit < items.length) {
      metadata.continue = Buffer.from(JSON.stringify({ start: start + limit })).toString('base64');
      metadata.remainingItemCount = items.length - start - limit;
    }
    // Built-in lists carry kind/apiVersion on the list only; custom resource items keep theirs.
    const shaped = info.custom ? page : page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    return { kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata, items: shaped };
  }

  private decode(text: string, contentType: string): KubeObject {
    if (contentType.includes('protobuf') || contentType === 'application/cbor') {
      throw new StatusError(statuses.unsupportedMediaType(contentType, ['application/json', 'application/yaml']));
    }
    try {
      const value = contentType === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected an object');
      return value as KubeObject;
    } catch (error) {
      throw new StatusError(statuses.badRequest(`the body of the request could not be decoded: ${(error as Error).message}`));
    }
  }

  private deleteOptions(q: URLSearchParams, text: string): DeleteOptions {
    let body: Record<string, unknown> = {};
    if (text.trim()) {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new StatusError(statuses.badRequest('the body of the request could not be decoded as DeleteOptions'));
      }
    }
    const policy = (q.get('propagationPolicy') ?? body.propagationPolicy) as DeleteOptions['propagationPolicy'] | undefined;
    if (policy && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
      throw new StatusError(statuses.invalid('DeleteOptions', 'meta.k8s.io', '', [cause.notSupported('propagationPolicy', policy, ['Foreground', 'Background', 'Orphan'])]));
    }
    const grace = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
    const orphan = q.get('orphanDependents') ?? body.orphanDependents;
    return {
      propagationPolicy: policy,
      gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
      orphanDependents: orphan === undefined || orphan === null ? undefined : String(orphan) === 'true',
      preconditions: body.preconditions as DeleteOptions['preconditions'],
      dryRun: q.get('dryRun') === 'All' || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
    };
  }

  private patch(res: ServerResponse, route: Route, q: URLSearchParams, text: string, contentType: string, manager: string, dryRun: boolean): void {
    const { registry } = this.options;
    const { res: info, namespace, name } = route;
    let accepted = Object.keys(PATCH_TYPES);
    if (this.oldServer) accepted = accepted.filter((t) => t !== 'application/apply-patch+yaml');
    if (info.custom) accepted = accepted.filter((t) => t !== 'application/strategic-merge-patch+json');
    const type = accepted.includes(contentType) ? PATCH_TYPES[contentType] : undefined;
    if (!type) throw new StatusError(statuses.unsupportedMediaType(contentType, accepted));

    const force = q.get('force');
    const patchOptionErrors = [];
    if (type === 'apply' && !q.get('fieldManager')) patchOptionErrors.push(cause.required('fieldManager', 'is required for apply patch'));
    if (type !== 'apply' && force !== null) patchOptionErrors.push(cause.forbidden('force', 'may not be specified for non-apply patch'));
    if (patchOptionErrors.length) throw new StatusError(statuses.invalid('PatchOptions', 'meta.k8s.io', '', patchOptionErrors));

    let body: unknown;
    try {
      body = type === 'apply' ? parseYaml(text) : JSON.parse(text);
    } catch (error) {
      throw new StatusError(statuses.badRequest(`error decoding ${type === 'apply' ? 'YAML' : 'patch'}: ${(error as Error).message}`));
    }
    const sub = route.subresource === 'status' ? 'status' : undefined;
    if (type === 'apply') {
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new StatusError(statuses.badRequest('error decoding YAML: the apply configuration must be an object'));
      const { object, created } = registry.apply(info, namespace, name!, body as KubeObject, { manager, dryRun, force: force === 'true', subresource: sub });
      return sendJson(res, created ? 201 : 200, object);
    }
    return sendJson(res, 200, registry.patch(info, namespace, name!, type, body, { manager, dryRun, subresource: sub }));
  }

  // ---- upgrades (exec, portforward, attach) ----

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', `https://127.0.0.1:${this.port}`);
    const entry = this.log(req, url);
    if (!this.authenticated(req)) {
      entry.status = 401;
      return rejectUpgrade(socket, statuses.unauthorized());
    }
    const route = this.route(url.pathname.replace(/\/+$/, ''));
    const injected = this.injectedFailure(entry, typeof route === 'object' ? route : undefined);
    if (injected) {
      entry.status = injected.code;
      return rejectUpgrade(socket, injected);
    }
    if (typeof route !== 'object' || route.res.kind !== 'Pod' || !route.name || !route.subresource) {
      entry.status = 404;
      return rejectUpgrade(socket, statuses.noResource());
    }
    try {
      const ctx = this.subresourceContext(route.namespace!, route.name, url.searchParams);
      entry.status = 101;
      if (route.subresource === 'exec' || route.subresource === 'attach') return handleExec(ctx, req, socket, head);
      if (route.subresource === 'portforward') return handlePortForward(ctx, req, socket, head);
      entry.status = 400;
      rejectUpgrade(socket, statuses.badRequest(`${route.subresource} does not support upgrades`));
    } catch (error) {
      const status = error instanceof StatusError ? error.status : statuses.internal(String(error));
      entry.status = status.code;
      rejectUpgrade(socket, status);
    }
  }

  /** Builds the handler context; throws a 404 StatusError when the pod does not exist. */
  private subresourceContext(namespace: string, name: string, query: URLSearchParams): SubresourceContext {
    const { registry, runtime, kubelet } = this.options;
    const podRes = registry.res('v1', 'Pod');
    const pod = registry.get(podRes, namespace, name) as FakePod;
    const podKey = podKeyOf(pod);
    const getPod = (ns: string, n: string) => registry.find(podRes, ns, n) as FakePod | undefined;
    return {
      namespace,
      name,
      query,
      pod,
      podKey,
      getPod,
      objects: {
        get: (apiVersion, kind, ns, n) => registry.peek(apiVersion, kind, ns, n),
        list: (kind, ns) => registry.peekList(kind, ns),
      },
      runtime,
      version: this.options.version,
      logs: (key, container, previous) => kubelet.logs(key, container, previous),
      resolveContainer: (requested) => {
        const names = pod.spec.containers.map((c) => c.name);
        const all = [...names, ...(pod.spec.initContainers ?? []).map((c) => c.name)];
        if (requested) {
          return all.includes(requested) ? { container: requested } : { status: statuses.badRequest(`container ${requested} is not valid for pod ${name}`) };
        }
        const annotated = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
        if (annotated && names.includes(annotated)) return { container: annotated };
        if (names.length === 1) return { container: names[0]! };
        return { status: statuses.badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`) };
      },
      containerRunning: (container) => {
        const current = getPod(namespace, name);
        const statuses_ = [...(current?.status?.containerStatuses ?? []), ...(current?.status?.initContainerStatuses ?? [])] as { name: string; state?: { running?: unknown } }[];
        return Boolean(statuses_.find((s) => s.name === container)?.state?.running);
      },
      statuses,
      sendStatus,
      sendJson,
      rejectUpgrade,
      stallWhenPodGone: () => this.stallGonePodForwards,
    };
  }
}

/** The default field manager: the User-Agent up to its first "/" (like the API server does). */
function prefixFromUserAgent(userAgent: string | undefined): string {
  const prefix = (userAgent ?? 'unknown').split('/')[0]!.trim();
  return prefix.slice(0, 128) || 'unknown';
}
