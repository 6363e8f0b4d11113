/**
 * The local client's side of one forwarded connection. Until the pod's first response byte it keeps
 * every byte the client sent, so a connection whose pod failed before answering (refused, reset,
 * killed by a rollout, port-forward refused) can be replayed on the next Ready pod. Bounded: past
 * `maxBytes` the connection is no longer replayable and the copy is dropped.
 */
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';

export class ClientBytes {
  private chunks: Buffer[] = [];
  private size = 0;
  private sink: PassThrough | undefined;
  private full = false;
  /** False once the pod answered or the client sent more than `maxBytes` before it did. */
  replayable = true;

  constructor(
    private readonly socket: Socket,
    private readonly maxBytes: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A half-close is not passed on: over v4.channel.k8s.io client-node would close the whole
    // stream and the pod's answer would be lost. The stream ends when the pod or the client closes.
  }

  /** A fresh input for one attempt: everything sent so far, then what the client sends next. */
  attach(): Readable {
    this.sink?.end();
    const sink = new PassThrough();
    for (const chunk of this.chunks) sink.write(chunk);
    this.sink = sink;
    if (this.full) {
      // Held past maxBytes: sent now, but no longer kept for another attempt.
      this.full = false;
      this.replayable = false;
      this.drop();
      this.socket.resume();
    }
    return sink;
  }

  /** The attempt is over: keep buffering, but send nothing to its stream any more. */
  detach(): void {
    this.sink?.end();
    this.sink = undefined;
  }

  /** The pod answered: the connection stays on it, so nothing needs keeping. */
  responded(): void {
    this.replayable = false;
    this.drop();
  }

  private onData(chunk: Buffer): void {
    this.sink?.write(chunk);
    if (!this.replayable) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size <= this.maxBytes) return;
    if (this.sink) {
      // Already sent to the pod: too much to keep for a replay.
      this.replayable = false;
      this.drop();
    } else {
      // No pod yet (held): stop reading rather than lose bytes or grow without bound.
      this.full = true;
      this.socket.pause();
    }
  }

  private drop(): void {
    this.chunks = [];
    this.size = 0;
  }
}
