/**
 * A container's log: timestamped lines that can be read from a time and followed, which is what the
 * kubelet offers the API server's `pods/log` (sinceTime, sinceSeconds, tailLines, follow, timestamps).
 */

export interface LogLine {
  /** When the line was written (RFC 3339 with nanoseconds when rendered by the log handler). */
  time: Date;
  /** The line without its trailing newline. */
  text: string;
}

export class LogBuffer {
  private readonly entries: LogLine[] = [];
  private readonly followers = new Set<(line: LogLine) => void>();
  private readonly closers = new Set<() => void>();
  private ended = false;

  constructor(private readonly limit = 10_000) {}

  /** Appends one line per `\n`-separated piece of `text` (a trailing newline adds no empty line). */
  write(text: string, time: Date = new Date()): void {
    const pieces = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    for (const piece of pieces) {
      const line = { time, text: piece };
      this.entries.push(line);
      if (this.entries.length > this.limit) this.entries.shift();
      for (const follower of this.followers) follower(line);
    }
  }

  /** Lines at or after `since` (all when absent), oldest first. */
  read(since?: Date): LogLine[] {
    return since ? this.entries.filter((line) => line.time >= since) : [...this.entries];
  }

  /** Calls `onLine` for every line written from now on, `onEnd` when the container stops. Returns an unsubscribe. */
  subscribe(onLine: (line: LogLine) => void, onEnd?: () => void): () => void {
    this.followers.add(onLine);
    if (onEnd) {
      if (this.ended) queueMicrotask(onEnd);
      else this.closers.add(onEnd);
    }
    return () => {
      this.followers.delete(onLine);
      if (onEnd) this.closers.delete(onEnd);
    };
  }

  /** The container stopped: followers are told, later writes start a new life of the buffer. */
  end(): void {
    this.ended = true;
    for (const closer of this.closers) closer();
    this.closers.clear();
  }

  get isEnded(): boolean {
    return this.ended;
  }
}
