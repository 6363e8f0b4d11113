/**
 * The default PodRuntime: no containers, but enough of one for devloop's data plane.
 *  - image "pull": references on a loopback registry (127.0.0.1:…, localhost:…) are checked with a
 *    manifest HEAD like a kubelet pull; missing → ErrImagePull. Other registries are assumed pullable.
 *  - each declared TCP containerPort gets an HTTP server on 127.0.0.1 (ephemeral port) that serves
 *    `<root><urlpath>` when that file exists (so a file synced into the container is served),
 *    else `hello from <pod> image=<image>\n`; tests may install their own handler.
 *  - a root folder per container stands for its filesystem (exec/sync write there); a restart gets
 *    a fresh one, like a new container's writable layer.
 *  - logs: a startup line, one line per request.
 *  - pods whose restartPolicy is not Always (Jobs) finish: their containers exit 0 after `jobRunMs`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { LogBuffer } from './logbuffer.js';
import { podKeyOf, type ContainerExit, type ContainerStart, type Endpoint, type PodKey, type PodRuntime } from './runtime.js';
import type { FakeContainer, FakePod } from './types.js';

export type SimulatedHandler = (pod: FakePod, container: FakeContainer, req: IncomingMessage, res: ServerResponse) => boolean | void | Promise<boolean | void>;

export interface SimulatedRuntimeOptions {
  /** How long a container of a non-Always pod runs before exiting 0. Default 30 ms. */
  jobRunMs?: number;
  /** Whether containers "have" tar (exec/sync emulation reads this). Default true. */
  tar?: boolean;
  /** Programs the containers lack besides tar (e.g. `['head']`): exec emulation answers "not found". */
  missing?: string[];
}

interface RunningContainer {
  container: FakeContainer;
  servers: Map<number, { server: Server; port: number }>;
  log: LogBuffer;
  root: string;
  timer?: NodeJS.Timeout;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
};

/** Parses an image reference into registry host, repository and tag/digest (docker.io defaults). */
export function parseImage(image: string): { host: string; name: string; reference: string; canonical: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let host = 'docker.io';
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    rest = rest.slice(slash + 1);
  } else if (!rest.includes('/')) rest = `library/${rest}`;
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const reference = digest ?? tag;
  return { host, name: rest, reference, canonical: `${host}/${rest}${digest ? `@${digest}` : `:${tag}`}` };
}

function isLoopbackHost(host: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(host);
}

/** HEADs the manifest like a pull would; returns the digest or an error text. */
async function checkImage(image: string): Promise<{ digest: string } | { error: string }> {
  const ref = parseImage(image);
  if (!isLoopbackHost(ref.host)) {
    return { digest: `sha256:${createHash('sha256').update(ref.canonical).digest('hex')}` };
  }
  const accept = [
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.docker.distribution.manifest.v2+json',
  ].join(', ');
  const failed = (why: string) => ({
    error: `rpc error: code = NotFound desc = failed to pull and unpack image "${ref.canonical}": failed to resolve reference "${ref.canonical}": ${why}`,
  });
  try {
    const response = await fetch(`http://${ref.host}/v2/${ref.name}/manifests/${ref.reference}`, { method: 'HEAD', headers: { Accept: accept } });
    if (response.status === 200) {
      const digest = response.headers.get('docker-content-digest') ?? (ref.reference.startsWith('sha256:') ? ref.reference : '');
      return { digest: digest || `sha256:${createHash('sha256').update(ref.canonical).digest('hex')}` };
    }
    if (response.status === 401 || response.status === 403) return failed(`pull access denied, repository does not exist or may require authorization: ${response.status}`);
    return failed(`${ref.canonical}: not found`);
  } catch (error) {
    return failed(`failed to do request: Head "http://${ref.host}/v2/${ref.name}/manifests/${ref.reference}": ${(error as Error).message}`);
  }
}

export class SimulatedRuntime implements PodRuntime {
  private readonly pods = new Map<PodKey, { pod: FakePod; containers: Map<string, RunningContainer> }>();
  private readonly exitListeners = new Set<(podKey: PodKey, container: string, exit: ContainerExit) => void>();
  /** Last log of each container, kept after it stops (logs of a finished Job pod stay readable). */
  private readonly lastLogs = new Map<string, LogBuffer>();
  private handler: SimulatedHandler | undefined;
  private baseDir: Promise<string> | undefined;
  private readonly jobRunMs: number;
  private readonly tar: boolean;
  private readonly missing: Set<string>;

  constructor(options: SimulatedRuntimeOptions = {}) {
    this.jobRunMs = options.jobRunMs ?? 30;
    this.tar = options.tar ?? true;
    this.missing = new Set(options.missing);
  }

  /** Replaces the default HTTP behaviour; return `false` from the handler to fall back to it. */
  setHandler(handler: SimulatedHandler | undefined): void {
    this.handler = handler;
  }

  async start(pod: FakePod): Promise<ContainerStart[]> {
    const key = podKeyOf(pod);
    let entry = this.pods.get(key);
    if (!entry) this.pods.set(key, (entry = { pod, containers: new Map() }));
    entry.pod = pod;
    const results: ContainerStart[] = [];
    for (const container of pod.spec.containers) {
      const running = entry.containers.get(container.name);
      if (running) {
        results.push({ name: container.name, state: 'running' });
        continue;
      }
      const pulled = await checkImage(container.image);
      if ('error' in pulled) {
        results.push({ name: container.name, state: 'waiting', reason: 'ErrImagePull', message: pulled.error });
        continue;
      }
      const started = await this.run(pod, container);
      entry.containers.set(container.name, started);
      const ref = parseImage(container.image);
      results.push({
        name: container.name,
        state: 'running',
        startedAt: new Date(),
        imageID: `${ref.host}/${ref.name}@${pulled.digest}`,
        containerID: `containerd://${createHash('sha256').update(`${key}/${container.name}/${Date.now()}/${Math.random()}`).digest('hex')}`,
      });
    }
    return results;
  }

  private async run(pod: FakePod, container: FakeContainer): Promise<RunningContainer> {
    this.baseDir ??= mkdtemp(join(tmpdir(), 'fake-kube-pods-'));
    const root = join(await this.baseDir, `${pod.metadata.namespace}_${pod.metadata.name}_${container.name}_${Date.now().toString(36)}`);
    await mkdir(root, { recursive: true });
    if (container.workingDir) await mkdir(join(root, container.workingDir), { recursive: true });
    const log = new LogBuffer();
    this.lastLogs.set(`${podKeyOf(pod)}/${container.name}`, log);
    const servers = new Map<number, { server: Server; port: number }>();
    const running: RunningContainer = { container, servers, log, root };
    log.write(`starting ${container.name} image=${container.image}`);
    for (const p of container.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP' || servers.has(p.containerPort)) continue;
      const server = createServer((req, res) => void this.serve(pod, running, req, res));
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      });
      servers.set(p.containerPort, { server, port });
      log.write(`listening on :${p.containerPort}`);
    }
    if ((pod.spec.restartPolicy ?? 'Always') !== 'Always') {
      running.timer = setTimeout(() => {
        log.write('done');
        void this.stopContainer(podKeyOf(pod), container.name).then(() => {
          for (const listener of this.exitListeners) listener(podKeyOf(pod), container.name, { exitCode: 0, reason: 'Completed', finishedAt: new Date() });
        });
      }, this.jobRunMs);
    }
    return running;
  }

  private async serve(pod: FakePod, running: RunningContainer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    running.log.write(`${req.method} ${req.url}`);
    try {
      if (this.handler && (await this.handler(pod, running.container, req, res)) !== false) return;
      const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = join(running.root, normalize(urlPath));
      if (file.startsWith(running.root)) {
        const info = await stat(file).catch(() => undefined);
        if (info?.isDirectory()) file = join(file, 'index.html');
        const body = await readFile(file).catch(() => undefined);
        if (body && (info?.isFile() || info?.isDirectory())) {
          res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
          res.end(req.method === 'HEAD' ? undefined : body);
          return;
        }
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`hello from ${pod.metadata.name} image=${running.container.image}\n`);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    }
  }

  private async stopContainer(key: PodKey, name: string): Promise<void> {
    const entry = this.pods.get(key);
    const running = entry?.containers.get(name);
    if (!entry || !running) return;
    entry.containers.delete(name);
    clearTimeout(running.timer);
    await Promise.all(
      [...running.servers.values()].map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    running.log.end();
    await rm(running.root, { recursive: true, force: true });
  }

  async stop(pod: FakePod): Promise<void> {
    const key = podKeyOf(pod);
    const entry = this.pods.get(key);
    if (!entry) return;
    await Promise.all([...entry.containers.keys()].map((name) => this.stopContainer(key, name)));
    this.pods.delete(key);
  }

  onExit(listener: (podKey: PodKey, container: string, exit: ContainerExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  endpoint(podKey: PodKey, container: string, containerPort: number): Endpoint | undefined {
    const server = this.pods.get(podKey)?.containers.get(container)?.servers.get(containerPort);
    return server ? { host: '127.0.0.1', port: server.port } : undefined;
  }

  logs(podKey: PodKey, container: string): LogBuffer | undefined {
    return this.pods.get(podKey)?.containers.get(container)?.log ?? this.lastLogs.get(`${podKey}/${container}`);
  }

  rootDir(podKey: PodKey, container: string): string | undefined {
    return this.pods.get(podKey)?.containers.get(container)?.root;
  }

  hasTar(podKey: PodKey, container: string): boolean {
    return this.tar && this.rootDir(podKey, container) !== undefined;
  }

  hasBinary(podKey: PodKey, container: string, binary: string): boolean {
    return binary === 'tar' ? this.hasTar(podKey, container) : !this.missing.has(binary) && this.rootDir(podKey, container) !== undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pods.values()].map(({ pod }) => this.stop(pod)));
    if (this.baseDir) await rm(await this.baseDir, { recursive: true, force: true });
  }
}
