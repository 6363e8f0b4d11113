/**
 * Runs the fake's controllers in-process: a pass is scheduled after every store change (and every
 * `resyncMs` for time-based transitions such as progress deadlines); a pass repeats until nothing
 * changes. Controllers are plain synchronous reconcilers over the registry; the kubelet's container
 * work is asynchronous and reports back through the registry.
 */
import type { Registry } from '../registry.js';
import { EventRecorder } from './events.js';
import { DeploymentController } from './deployment.js';
import { ReplicaSetController } from './replicaset.js';
import { DaemonSetController, JobController, StatefulSetController } from './workloads.js';
import { EndpointsController, GarbageCollector, NamespaceController } from './cluster.js';
import type { Kubelet } from './kubelet.js';

interface Reconciler {
  reconcile(): void;
}

export class ControllerManager {
  private readonly controllers: Reconciler[];
  private scheduled: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private stopped = false;
  /** The last error a controller threw (controllers must not throw; this helps debugging the fake). */
  lastError: unknown;

  constructor(
    private readonly registry: Registry,
    private readonly kubelet: Kubelet,
    private readonly resyncMs = 50,
  ) {
    const events = new EventRecorder(registry);
    this.controllers = [
      new NamespaceController(registry),
      new DeploymentController(registry, events),
      new ReplicaSetController(registry, events),
      new StatefulSetController(registry, events),
      new DaemonSetController(registry, events),
      new JobController(registry, events),
      new EndpointsController(registry),
      new GarbageCollector(registry),
      kubelet,
    ];
  }

  start(): void {
    this.unsubscribe = this.registry.subscribe(() => this.schedule());
    this.kubelet.poke = () => this.schedule();
    this.resync = setInterval(() => this.schedule(), this.resyncMs);
    this.resync.unref();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.resync);
    clearTimeout(this.scheduled);
  }

  schedule(): void {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.pass();
    }, 1);
  }

  private pass(): void {
    if (this.stopped) return;
    this.running = true;
    try {
      for (let round = 0; round < 10; round++) {
        const before = this.registry.store.resourceVersion;
        for (const controller of this.controllers) {
          try {
            controller.reconcile();
          } catch (error) {
            this.lastError = error;
            if (process.env.FAKE_KUBE_DEBUG) console.error('fake-kube controller error', error);
          }
        }
        if (this.registry.store.resourceVersion === before) break;
      }
    } finally {
      this.running = false;
    }
  }
}
