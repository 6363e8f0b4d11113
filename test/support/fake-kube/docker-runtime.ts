/**
 * A PodRuntime that runs each container for real with dockerd, so a forwarded port reaches a real
 * process and a sync lands in a real filesystem:
 *   docker run -d --network host -e PORT=<free loopback port> [--entrypoint …] <image> [args…]
 * Host networking because nothing may connect to the bridge network (172.17.x); the example apps
 * listen on $PORT, so every containerPort of a container maps to that one port on 127.0.0.1.
 * Logs come from `docker logs -f --timestamps`, exec from `docker exec -i`, exits from `docker wait`.
 * Containers are labelled `devloop.fake-kube=<runtime id>` so a crashed test's leftovers can be found.
 */
import { execa, type ResultPromise } from 'execa';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { LogBuffer } from './logbuffer.js';
import { podKeyOf, type ContainerExit, type ContainerStart, type Endpoint, type ExecIO, type PodKey, type PodRuntime } from './runtime.js';
import type { FakeContainer, FakePod } from './types.js';
import { freePort } from '../services.js';
import { notFoundMessage } from './exec.js';

interface DockerContainer {
  id: string;
  port: number;
  log: LogBuffer;
  follower?: ResultPromise;
  waiter?: ResultPromise;
  stopping: boolean;
}

export interface DockerRuntimeOptions {
  /** How long start() waits for the container to accept connections on $PORT. Default 10 s. */
  readyTimeoutMs?: number;
}

export class DockerRuntime implements PodRuntime {
  readonly id = randomBytes(4).toString('hex');
  private readonly pods = new Map<PodKey, Map<string, DockerContainer>>();
  private readonly lastLogs = new Map<string, LogBuffer>();
  private readonly exitListeners = new Set<(podKey: PodKey, container: string, exit: ContainerExit) => void>();
  private readonly readyTimeoutMs: number;

  constructor(options: DockerRuntimeOptions = {}) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  }

  async start(pod: FakePod): Promise<ContainerStart[]> {
    const key = podKeyOf(pod);
    let containers = this.pods.get(key);
    if (!containers) this.pods.set(key, (containers = new Map()));
    const results: ContainerStart[] = [];
    for (const container of pod.spec.containers) {
      if (containers.has(container.name)) {
        results.push({ name: container.name, state: 'running' });
        continue;
      }
      results.push(await this.run(pod, container, containers));
    }
    return results;
  }

  private async run(pod: FakePod, container: FakeContainer, containers: Map<string, DockerContainer>): Promise<ContainerStart> {
    const key = podKeyOf(pod);
    const port = await freePort();
    const args = ['run', '-d', '--network', 'host', '--label', `devloop.fake-kube=${this.id}`, '-e', `PORT=${port}`];
    for (const env of container.env ?? []) args.push('-e', `${env.name}=${env.value ?? ''}`);
    if (container.workingDir) args.push('-w', container.workingDir);
    // The kubelet expands $(VAR) in command and args, and turns $$ into $.
    const vars = new Map([['PORT', String(port)], ...(container.env ?? []).map((e): [string, string] => [e.name, e.value ?? ''])]);
    const [entrypoint, ...commandRest] = (container.command ?? []).map((arg) => expandVars(arg, vars));
    if (entrypoint) args.push('--entrypoint', entrypoint);
    args.push(container.image, ...commandRest, ...(container.args ?? []).map((arg) => expandVars(arg, vars)));
    const started = await execa('docker', args, { reject: false, timeout: 120_000 });
    if (started.exitCode !== 0) {
      const message = started.stderr.trim().split('\n').pop() ?? 'docker run failed';
      const pull = /pull|manifest|not found|unknown/i.test(message);
      return { name: container.name, state: 'waiting', reason: pull ? 'ErrImagePull' : 'CreateContainerError', message };
    }
    const id = started.stdout.trim();
    const log = new LogBuffer();
    this.lastLogs.set(`${key}/${container.name}`, log);
    const entry: DockerContainer = { id, port, log, stopping: false };
    containers.set(container.name, entry);
    entry.follower = this.follow(entry);
    entry.waiter = execa('docker', ['wait', id], { reject: false });
    void entry.waiter.then((result) => {
      if (entry.stopping || containers.get(container.name) !== entry) return;
      const exitCode = Number(String(result.stdout ?? "").trim() || 1);
      containers.delete(container.name);
      void execa('docker', ['rm', '-f', id], { reject: false });
      for (const listener of this.exitListeners)
        listener(key, container.name, { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: new Date() });
    });
    if ((container.ports ?? []).length > 0) await this.waitListening(port);
    const inspect = await execa('docker', ['inspect', '-f', '{{.Image}}', id], { reject: false });
    return {
      name: container.name,
      state: 'running',
      startedAt: new Date(),
      containerID: `docker://${id}`,
      imageID: inspect.stdout.trim() || undefined,
    };
  }

  private follow(entry: DockerContainer): ResultPromise {
    const child = execa('docker', ['logs', '-f', '--timestamps', entry.id], { reject: false, buffer: false, all: true });
    let rest = '';
    child.all?.on('data', (chunk: Buffer) => {
      rest += chunk.toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const space = line.indexOf(' ');
        const time = new Date(line.slice(0, space));
        if (space > 0 && !Number.isNaN(time.getTime())) entry.log.write(line.slice(space + 1), time);
        else entry.log.write(line);
      }
    });
    void child.then(() => entry.log.end());
    return child;
  }

  private async waitListening(port: number): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    while (Date.now() < deadline) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (open) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(pod: FakePod): Promise<void> {
    const key = podKeyOf(pod);
    const containers = this.pods.get(key);
    if (!containers) return;
    this.pods.delete(key);
    await Promise.all([...containers.values()].map((c) => this.remove(c)));
  }

  private async remove(container: DockerContainer): Promise<void> {
    container.stopping = true;
    await execa('docker', ['rm', '-f', container.id], { reject: false, timeout: 30_000 });
    container.follower?.kill();
    container.waiter?.kill();
    container.log.end();
  }

  onExit(listener: (podKey: PodKey, container: string, exit: ContainerExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  endpoint(podKey: PodKey, container: string, _containerPort: number): Endpoint | undefined {
    const entry = this.pods.get(podKey)?.get(container);
    return entry ? { host: '127.0.0.1', port: entry.port } : undefined;
  }

  logs(podKey: PodKey, container: string): LogBuffer | undefined {
    return this.pods.get(podKey)?.get(container)?.log ?? this.lastLogs.get(`${podKey}/${container}`);
  }

  /** Real containers have no host folder: exec goes through `docker exec`. */
  rootDir(): string | undefined {
    return undefined;
  }

  hasTar(podKey: PodKey, container: string): boolean {
    return this.pods.get(podKey)?.has(container) ?? false;
  }

  async exec(podKey: PodKey, container: string, command: string[], io: ExecIO): Promise<{ exitCode: number }> {
    const entry = this.pods.get(podKey)?.get(container);
    if (!entry) throw new Error(`container ${container} is not running`);
    const child = execa('docker', ['exec', ...(io.stdin ? ['-i'] : []), entry.id, ...command], {
      reject: false,
      buffer: false,
      stdin: io.stdin ? 'pipe' : 'ignore',
      timeout: 120_000,
    });
    if (io.stdin && child.stdin) io.stdin.pipe(child.stdin);
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => io.stdout?.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      io.stderr?.write(chunk);
    });
    const result = await child;
    const exitCode = result.exitCode ?? 1;
    // `docker exec` of a missing binary: OCI runtime error, exit 126/127: the API server reports a start failure.
    if ((exitCode === 126 || exitCode === 127) && /executable file not found|no such file or directory/i.test(stderr)) {
      throw new Error(notFoundMessage(command[0]!));
    }
    return { exitCode };
  }

  async close(): Promise<void> {
    const all = [...this.pods.values()].flatMap((containers) => [...containers.values()]);
    this.pods.clear();
    await Promise.all(all.map((c) => this.remove(c)));
    // Leftovers (a start that raced with close): by label.
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=devloop.fake-kube=${this.id}`], { reject: false });
    const ids = left.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await execa('docker', ['rm', '-f', ...ids], { reject: false });
  }
}

/** The kubelet's expansion of command and args: `$(NAME)` of a defined variable is replaced, `$$` is a literal `$`, anything else stays as written. */
export function expandVars(text: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const next = text[i + 1];
    if (text[i] === '$' && next === '$') {
      out += '$';
      i++;
    } else if (text[i] === '$' && next === '(') {
      const close = text.indexOf(')', i + 2);
      const name = close < 0 ? undefined : text.slice(i + 2, close);
      if (name === undefined) out += text[i];
      else {
        out += vars.get(name) ?? text.slice(i, close + 1);
        i = close;
      }
    } else out += text[i];
  }
  return out;
}
