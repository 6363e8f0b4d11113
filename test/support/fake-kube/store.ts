/**
 * The fake's etcd: objects per resource, one global resourceVersion counter (a string on the wire,
 * like etcd's revision), and a bounded history of changes that watches replay from. The store knows
 * nothing about API semantics; registry.ts does.
 */
import type { KubeObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** `${group}/${resource}` */
  resource: string;
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before the change (MODIFIED/DELETED), so selector watches can turn a change into ADDED/DELETED. */
  previous?: KubeObject;
  rv: number;
}

export function resourceKey(group: string, name: string): string {
  return `${group}/${name}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Store {
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** Oldest resourceVersion a watch may resume from (events after it are all in `history`). */
  private horizon = this.rv;
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(private readonly historyLimit = 2000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(resource)?.get(objectKey(namespace, name));
  }

  /** Objects of a resource, sorted by namespace then name (the API server lists in key order). */
  list(resource: string, namespace?: string): KubeObject[] {
    const bucket = this.objects.get(resource);
    if (!bucket) return [];
    const out: KubeObject[] = [];
    for (const object of bucket.values()) {
      if (namespace === undefined || object.metadata.namespace === namespace) out.push(object);
    }
    return out.sort((a, b) => objectKey(a.metadata.namespace, a.metadata.name!).localeCompare(objectKey(b.metadata.namespace, b.metadata.name!)));
  }

  resources(): string[] {
    return [...this.objects.keys()];
  }

  /** Stores an object (the caller has finished it, except metadata.resourceVersion which is set here). */
  put(resource: string, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name!);
    let bucket = this.objects.get(resource);
    if (!bucket) this.objects.set(resource, (bucket = new Map()));
    const previous = bucket.get(key);
    this.rv += 1;
    object.metadata.resourceVersion = String(this.rv);
    bucket.set(key, object);
    this.record({ type: previous ? 'MODIFIED' : 'ADDED', resource, object, previous, rv: this.rv });
    return object;
  }

  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.objects.get(resource);
    const key = objectKey(namespace, name);
    const previous = bucket?.get(key);
    if (!bucket || !previous) return undefined;
    bucket.delete(key);
    this.rv += 1;
    const object = structuredClone(previous);
    object.metadata.resourceVersion = String(this.rv);
    this.record({ type: 'DELETED', resource, object, previous, rv: this.rv });
    return object;
  }

  /** Drops every object of a resource without events (a CRD going away takes its objects along). */
  dropResource(resource: string): KubeObject[] {
    const gone = [...(this.objects.get(resource)?.values() ?? [])];
    for (const object of gone) this.remove(resource, object.metadata.namespace, object.metadata.name!);
    this.objects.delete(resource);
    return gone;
  }

  /** Events after `rv`, or 'expired' when history no longer reaches back that far. */
  since(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.horizon) return 'expired';
    return this.history.filter((event) => event.rv > rv);
  }

  get oldestResumable(): number {
    return this.horizon;
  }

  compact(): void {
    this.history = [];
    this.horizon = this.rv;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.horizon = dropped.rv;
    }
    for (const listener of [...this.listeners]) listener(event);
  }
}
