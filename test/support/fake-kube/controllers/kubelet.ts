/**
 * The scheduler and kubelet of the fake's single node ("fake-node"): binds pods, starts their
 * containers through the PodRuntime, and reports what a kubelet would in pod status and Events.
 * Injected failures (failImage) are decided here, per container image:
 *  - ImagePullBackOff: waiting ErrImagePull, then ImagePullBackOff ("Back-off pulling image …"),
 *    retried with back-off (so clearFailures() lets the pod recover);
 *  - CrashLoopBackOff: the container runs for crashRunMs writing a few log lines, exits 1, and is
 *    restarted with back-off (restartCount grows, lastState.terminated exitCode 1 reason Error);
 *  - Unschedulable: stays Pending with PodScheduled False "0/1 nodes are available: 1 Insufficient cpu.";
 *  - NotReady: runs, but Ready stays False and a "Readiness probe failed" Warning event is recorded.
 *    Readiness is re-checked on every reconcile pass, like a periodic probe: after clearFailures()
 *    the container turns Ready, and a NotReady rule added later makes a running one unready.
 * Containers that the runtime reports as exited are restarted or finished per restartPolicy.
 */
import type { Registry } from '../registry.js';
import { rfc3339 } from '../registry.js';
import type { ResourceInfo } from '../discovery.js';
import { LogBuffer } from '../logbuffer.js';
import { podKeyOf, type ContainerExit, type ContainerStart, type PodKey, type PodRuntime } from '../runtime.js';
import type { FakeContainer, FakePod, KubeObject } from '../types.js';
import { EventRecorder } from './events.js';
import { setCondition } from './util.js';

export type FailureMode = 'ImagePullBackOff' | 'CrashLoopBackOff' | 'Unschedulable' | 'NotReady';

export interface KubeletTiming {
  podStartMs: number;
  backoffMs: number;
  crashRunMs: number;
  terminationMs: number;
}

interface ContainerState {
  name: string;
  image: string;
  phase: 'waiting' | 'running' | 'terminated';
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  ready: boolean;
  restartCount: number;
  imageID?: string;
  containerID?: string;
  lastTerminated?: Record<string, unknown>;
  backoffMs: number;
  simulated: boolean;
  timer?: NodeJS.Timeout;
}

interface PodState {
  key: PodKey;
  uid: string;
  podIP: string;
  startTime: string;
  containers: Map<string, ContainerState>;
  init: ContainerState[];
  stopping: boolean;
  timers: Set<NodeJS.Timeout>;
}

const SIMULATED_CRASH_LOG = ['loading configuration', 'connecting to backend', 'panic: simulated crash (fake-kube CrashLoopBackOff)', 'exit status 1'];

export class Kubelet {
  private readonly pods = new Map<PodKey, PodState>();
  private readonly rules: { match: string | RegExp; mode: FailureMode }[] = [];
  private readonly crashLogs = new Map<string, { current: LogBuffer; previous?: LogBuffer }>();
  private readonly events: EventRecorder;
  private readonly podRes: ResourceInfo;
  private nextIP = 10;
  private stopped = false;
  private readonly unsubscribe: () => void;
  /** Set by the controller manager: run a reconcile pass soon. */
  poke: () => void = () => {};

  constructor(
    private readonly registry: Registry,
    private readonly runtime: PodRuntime,
    private readonly timing: KubeletTiming,
  ) {
    this.events = new EventRecorder(registry);
    this.podRes = registry.res('v1', 'Pod');
    this.unsubscribe = runtime.onExit((key, container, exit) => this.exited(key, container, exit));
  }

  // ---- controls ----

  failImage(match: string | RegExp, mode: FailureMode): void {
    this.rules.push({ match, mode });
    this.poke();
  }

  clearFailures(): void {
    this.rules.length = 0;
    this.poke();
  }

  private failureFor(image: string): FailureMode | undefined {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const { match, mode } = this.rules[i]!;
      if (typeof match === 'string' ? image.includes(match) : match.test(image)) return mode;
    }
    return undefined;
  }

  /** A crash/eviction: containers stop and the pod object goes at once. */
  async evict(namespace: string, name: string): Promise<void> {
    const pod = this.registry.find(this.podRes, namespace, name) as FakePod | undefined;
    if (!pod) return;
    const state = this.pods.get(podKeyOf(pod));
    if (state) this.forget(state);
    await this.runtime.stop(pod);
    try {
      this.registry.delete(this.podRes, namespace, name, { gracePeriodSeconds: 0 });
    } catch {
      // already gone
    }
  }

  logs(key: PodKey, container: string, previous = false): LogBuffer | undefined {
    const crash = this.crashLogs.get(`${key}/${container}`);
    if (crash) return previous ? crash.previous : crash.current;
    return previous ? undefined : this.runtime.logs(key, container);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    for (const state of this.pods.values()) this.forget(state);
    const pods = this.registry.list(this.podRes) as FakePod[];
    await Promise.all(pods.map((pod) => this.runtime.stop(pod).catch(() => {})));
  }

  // ---- reconcile ----

  reconcile(): void {
    if (this.stopped) return;
    const pods = this.registry.list(this.podRes) as FakePod[];
    const present = new Set<string>();
    for (const pod of pods) {
      present.add(podKeyOf(pod));
      this.sync(pod);
    }
    for (const state of this.pods.values()) this.probeReadiness(state);
    for (const [key, state] of this.pods) {
      if (!present.has(key)) {
        this.forget(state);
        const [namespace, name] = key.split('/');
        void this.runtime.stop({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: namespace!, name: name!, uid: state.uid }, spec: { containers: [] } });
      }
    }
  }

  private forget(state: PodState): void {
    for (const timer of state.timers) clearTimeout(timer);
    state.timers.clear();
    for (const c of [...state.containers.values(), ...state.init]) clearTimeout(c.timer);
    this.pods.delete(state.key);
  }

  private later(state: PodState, ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    state.timers.add(timer);
    return timer;
  }

  private sync(pod: FakePod): void {
    const key = podKeyOf(pod);
    const state = this.pods.get(key);
    if (state && state.uid !== pod.metadata.uid) this.forget(state); // same name, new pod
    if (pod.metadata.deletionTimestamp) return this.terminate(pod);
    if (!pod.spec.nodeName) return this.schedule(pod);
    if (!this.pods.has(key)) this.admit(pod);
  }

  private schedule(pod: FakePod): void {
    const images = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].map((c) => c.image);
    const now = rfc3339();
    if (images.some((image) => this.failureFor(image) === 'Unschedulable')) {
      const message = '0/1 nodes are available: 1 Insufficient cpu.';
      const already = (pod.status?.conditions ?? []).some((c: { type: string; reason?: string }) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
      if (already) return;
      const status = { ...pod.status, phase: 'Pending', conditions: setCondition(pod.status?.conditions, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }, now, false) };
      this.writeStatus(pod, status, 'kube-scheduler');
      this.events.record(pod, 'Warning', 'FailedScheduling', `${message} preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`, 'default-scheduler');
      return;
    }
    const bound = structuredClone(pod);
    bound.spec.nodeName = 'fake-node';
    try {
      const stored = this.registry.update(this.podRes, pod.metadata.namespace, pod.metadata.name, bound, { manager: 'kube-scheduler' }) as FakePod;
      const conditions = setCondition(stored.status?.conditions, { type: 'PodScheduled', status: 'True' }, now, false);
      this.writeStatus(stored, { ...stored.status, conditions }, 'kube-scheduler');
      this.events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to fake-node`, 'default-scheduler');
    } catch {
      // deleted meanwhile
    }
  }

  private admit(pod: FakePod): void {
    const key = podKeyOf(pod);
    const state: PodState = {
      key,
      uid: pod.metadata.uid,
      podIP: `10.244.0.${this.nextIP++ % 250}`,
      startTime: rfc3339(),
      containers: new Map(),
      init: [],
      stopping: false,
      timers: new Set(),
    };
    const fresh = (c: FakeContainer): ContainerState => ({
      name: c.name, image: c.image, phase: 'waiting', reason: 'ContainerCreating', ready: false, restartCount: 0, backoffMs: this.timing.backoffMs, simulated: false,
    });
    for (const c of pod.spec.containers) state.containers.set(c.name, fresh(c));
    state.init = (pod.spec.initContainers ?? []).map(fresh).map((c) => ({ ...c, reason: 'PodInitializing' }));
    this.pods.set(key, state);
    this.report(state);
    for (const c of pod.spec.containers) this.events.record(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, 'kubelet', `spec.containers{${c.name}}`);
    this.later(state, this.timing.podStartMs, () => {
      // Init containers are simulated: they "run" and complete at once.
      for (const c of state.init) Object.assign(c, { phase: 'terminated', reason: 'Completed', exitCode: 0, startedAt: rfc3339(), finishedAt: rfc3339() });
      void this.startContainers(state, [...state.containers.keys()]);
    });
  }

  private current(state: PodState): FakePod | undefined {
    const [namespace, name] = state.key.split('/');
    const pod = this.registry.find(this.podRes, namespace, name!) as FakePod | undefined;
    return pod && pod.metadata.uid === state.uid && !pod.metadata.deletionTimestamp && this.pods.get(state.key) === state ? pod : undefined;
  }

  private async startContainers(state: PodState, names: string[]): Promise<void> {
    const pod = this.current(state);
    if (!pod) return;
    const viaRuntime: FakeContainer[] = [];
    for (const name of names) {
      const c = state.containers.get(name)!;
      const spec = pod.spec.containers.find((x) => x.name === name)!;
      const mode = this.failureFor(spec.image);
      if (mode === 'ImagePullBackOff') this.pullFailed(state, pod, c, `rpc error: code = NotFound desc = failed to pull and unpack image "${spec.image}": failed to resolve reference "${spec.image}": ${spec.image}: not found`);
      else if (mode === 'CrashLoopBackOff') this.runCrashing(state, pod, c);
      else viaRuntime.push(spec);
    }
    if (viaRuntime.length) {
      let results: ContainerStart[];
      try {
        results = await this.runtime.start({ ...pod, spec: { ...pod.spec, containers: viaRuntime } });
      } catch (error) {
        results = viaRuntime.map((c) => ({ name: c.name, state: 'waiting' as const, reason: 'CreateContainerError', message: String((error as Error).message ?? error) }));
      }
      if (!this.current(state)) return;
      for (const result of results) {
        const c = state.containers.get(result.name);
        if (!c) continue;
        if (result.state === 'running') {
          const notReady = this.failureFor(c.image) === 'NotReady';
          Object.assign(c, {
            phase: 'running', reason: undefined, message: undefined, startedAt: rfc3339(result.startedAt ?? new Date()), ready: !notReady,
            imageID: result.imageID ?? c.imageID, containerID: result.containerID ?? c.containerID, simulated: false,
          });
          const at = `spec.containers{${c.name}}`;
          this.events.record(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}"`, 'kubelet', at);
          this.events.record(pod, 'Normal', 'Created', `Created container ${c.name}`, 'kubelet', at);
          this.events.record(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', at);
          if (notReady) this.events.record(pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 'kubelet', at);
        } else if (result.state === 'waiting') {
          if (result.reason === 'ErrImagePull') this.pullFailed(state, pod, c, result.message);
          else {
            Object.assign(c, { phase: 'waiting', reason: result.reason, message: result.message, ready: false });
            this.events.record(pod, 'Warning', 'Failed', `Error: ${result.reason}`, 'kubelet', `spec.containers{${c.name}}`);
            this.retry(state, c);
          }
        } else {
          Object.assign(c, { startedAt: rfc3339(result.startedAt ?? new Date()), imageID: result.imageID, containerID: result.containerID });
          this.exited(state.key, c.name, { exitCode: result.exitCode, reason: result.reason, finishedAt: result.finishedAt ?? new Date() });
        }
      }
    }
    this.report(state);
  }

  /** The readiness probe of running containers: fails exactly while a NotReady rule matches the image. */
  private probeReadiness(state: PodState): void {
    let changed = false;
    for (const c of state.containers.values()) {
      if (c.phase !== 'running' || c.simulated) continue; // crash-looping containers never become Ready
      const ready = this.failureFor(c.image) !== 'NotReady';
      if (c.ready === ready) continue;
      const pod = this.current(state);
      if (!pod) return;
      c.ready = ready;
      changed = true;
      if (!ready) this.events.record(pod, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503', 'kubelet', `spec.containers{${c.name}}`);
    }
    if (changed) this.report(state);
  }

  private retry(state: PodState, c: ContainerState): void {
    const wait = c.backoffMs;
    c.backoffMs = Math.min(c.backoffMs * 2, this.timing.backoffMs * 8);
    clearTimeout(c.timer);
    c.timer = this.later(state, wait, () => void this.startContainers(state, [c.name]));
  }

  private pullFailed(state: PodState, pod: FakePod, c: ContainerState, message: string): void {
    const at = `spec.containers{${c.name}}`;
    Object.assign(c, { phase: 'waiting', reason: 'ErrImagePull', message, ready: false });
    this.events.record(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${message}`, 'kubelet', at);
    this.events.record(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet', at);
    clearTimeout(c.timer);
    c.timer = this.later(state, Math.max(5, Math.floor(this.timing.backoffMs / 2)), () => {
      const live = this.current(state);
      if (!live) return;
      Object.assign(c, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` });
      this.events.record(live, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, 'kubelet', at);
      this.events.record(live, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet', at);
      this.report(state);
      this.retry(state, c);
    });
  }

  /** failImage CrashLoopBackOff: the kubelet plays the container itself. */
  private runCrashing(state: PodState, pod: FakePod, c: ContainerState): void {
    const logKey = `${state.key}/${c.name}`;
    const previous = this.crashLogs.get(logKey)?.current;
    const current = new LogBuffer();
    this.crashLogs.set(logKey, { current, previous });
    current.write(`starting ${c.name} image=${c.image}`);
    for (const line of SIMULATED_CRASH_LOG) current.write(line);
    Object.assign(c, {
      phase: 'running', reason: undefined, message: undefined, startedAt: rfc3339(), ready: false, simulated: true,
      containerID: `containerd://${Math.random().toString(16).slice(2).padEnd(16, '0')}`,
      imageID: c.imageID ?? `${c.image.includes('@') ? c.image : `${c.image}@sha256:${'0'.repeat(64)}`}`,
    });
    const at = `spec.containers{${c.name}}`;
    this.events.record(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, 'kubelet', at);
    this.events.record(pod, 'Normal', 'Created', `Created container ${c.name}`, 'kubelet', at);
    this.events.record(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', at);
    clearTimeout(c.timer);
    c.timer = this.later(state, this.timing.crashRunMs, () => {
      current.end();
      this.exited(state.key, c.name, { exitCode: 1, reason: 'Error', finishedAt: new Date() });
    });
  }

  private exited(key: PodKey, name: string, exit: ContainerExit): void {
    const state = this.pods.get(key);
    const c = state?.containers.get(name);
    if (!state || !c) return;
    const pod = this.current(state);
    if (!pod) return;
    const terminated = {
      exitCode: exit.exitCode,
      reason: exit.reason,
      startedAt: c.startedAt ?? rfc3339(),
      finishedAt: rfc3339(exit.finishedAt),
      ...(c.containerID ? { containerID: c.containerID } : {}),
    };
    const policy = pod.spec.restartPolicy ?? 'Always';
    const restart = policy === 'Always' || (policy === 'OnFailure' && exit.exitCode !== 0);
    if (!restart) {
      Object.assign(c, { phase: 'terminated', reason: exit.reason, exitCode: exit.exitCode, finishedAt: terminated.finishedAt, ready: false });
      this.report(state);
      return;
    }
    c.lastTerminated = terminated;
    c.restartCount += 1;
    const seconds = Math.max(10, Math.round((c.backoffMs / this.timing.backoffMs) * 10));
    Object.assign(c, {
      phase: 'waiting', reason: 'CrashLoopBackOff', ready: false,
      message: `back-off ${seconds}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
    });
    this.events.record(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`, 'kubelet', `spec.containers{${c.name}}`);
    this.report(state);
    this.retry(state, c);
  }

  private terminate(pod: FakePod): void {
    const key = podKeyOf(pod);
    const state = this.pods.get(key);
    if (state?.stopping) return;
    const finish = async () => {
      await this.runtime.stop(pod).catch(() => {});
      for (const c of pod.spec.containers) this.crashLogs.get(`${key}/${c.name}`)?.current.end();
      try {
        this.registry.delete(this.podRes, pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0 });
      } catch {
        // already gone
      }
      this.poke();
    };
    if (!state) {
      void finish();
      return;
    }
    state.stopping = true;
    for (const c of state.containers.values()) clearTimeout(c.timer);
    for (const c of pod.spec.containers) this.events.record(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, 'kubelet', `spec.containers{${c.name}}`);
    this.later(state, this.timing.terminationMs, () => {
      this.forget(state);
      void finish();
    });
  }

  // ---- status ----

  private writeStatus(pod: KubeObject, status: KubeObject['status'], manager: string): void {
    try {
      this.registry.update(this.podRes, pod.metadata.namespace, pod.metadata.name!, { ...pod, status }, { manager, subresource: 'status' });
    } catch {
      // the pod went away meanwhile
    }
  }

  private containerStatus(c: ContainerState): Record<string, unknown> {
    let stateField: Record<string, unknown>;
    if (c.phase === 'running') stateField = { running: { startedAt: c.startedAt } };
    else if (c.phase === 'terminated') {
      stateField = { terminated: { exitCode: c.exitCode ?? 0, reason: c.reason, startedAt: c.startedAt, finishedAt: c.finishedAt, ...(c.containerID ? { containerID: c.containerID } : {}) } };
    } else stateField = { waiting: { reason: c.reason, ...(c.message ? { message: c.message } : {}) } };
    return {
      name: c.name,
      state: stateField,
      lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
      ready: c.ready,
      restartCount: c.restartCount,
      image: c.image,
      imageID: c.imageID ?? '',
      ...(c.containerID ? { containerID: c.containerID } : {}),
      started: c.phase === 'running',
    };
  }

  /** Writes the pod status the kubelet would report for this state. */
  private report(state: PodState): void {
    const pod = this.current(state);
    if (!pod) return;
    const containers = [...state.containers.values()];
    const now = rfc3339();
    let phase = 'Pending';
    if (containers.every((c) => c.phase === 'terminated')) phase = containers.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
    else if (containers.some((c) => c.phase === 'running' || c.restartCount > 0 || c.phase === 'terminated')) phase = 'Running';
    const unready = containers.filter((c) => !c.ready).map((c) => c.name);
    const initDone = state.init.every((c) => c.phase === 'terminated');
    const readyCondition =
      phase === 'Succeeded' || phase === 'Failed'
        ? { status: 'False', reason: 'PodCompleted' }
        : unready.length
          ? { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` }
          : { status: 'True' };
    let conditions = pod.status?.conditions;
    const sandbox = phase === 'Succeeded' || phase === 'Failed' ? 'False' : 'True';
    conditions = setCondition(conditions, { type: 'PodReadyToStartContainers', status: sandbox }, now, false);
    conditions = setCondition(conditions, initDone ? { type: 'Initialized', status: 'True', ...(phase === 'Succeeded' ? { reason: 'PodCompleted' } : {}) } : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${state.init.map((c) => c.name).join(' ')}]` }, now, false);
    conditions = setCondition(conditions, { type: 'Ready', ...readyCondition }, now, false);
    conditions = setCondition(conditions, { type: 'ContainersReady', ...readyCondition }, now, false);
    conditions = setCondition(conditions, { type: 'PodScheduled', status: 'True' }, now, false);
    const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
    conditions = [...conditions].sort((a, b) => order.indexOf(String(a.type)) - order.indexOf(String(b.type)));
    const status: Record<string, unknown> = {
      phase,
      conditions,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: state.podIP,
      podIPs: [{ ip: state.podIP }],
      startTime: state.startTime,
      ...(state.init.length ? { initContainerStatuses: state.init.map((c) => this.containerStatus(c)) } : {}),
      containerStatuses: containers.map((c) => this.containerStatus(c)),
      qosClass: pod.status?.qosClass ?? 'BestEffort',
    };
    this.writeStatus(pod, status, 'kubelet');
  }
}
