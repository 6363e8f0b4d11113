/**
 * The facts behind the self-write rule (`plan/self-writes.ts`): which paths changed while the
 * previous iteration ran, and not since. A file event arrives a little after the write (inotify
 * plus a stat; a whole interval with polling), so changes seen within `latencyMs` after an
 * iteration ended still count as written during it; the next plan ends that window early.
 */
export class WriteObserver {
  private mode: 'idle' | 'running' | 'ending' = 'idle';
  private current = new Set<string>();
  private last = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly latencyMs: number) {}

  observe(path: string): void {
    if (this.mode === 'idle') this.last.delete(path);
    else this.current.add(path);
  }

  start(): void {
    this.settle();
    this.mode = 'running';
  }

  end(): void {
    this.mode = 'ending';
    this.timer = setTimeout(() => this.settle(), this.latencyMs);
    this.timer.unref();
  }

  /** Paths changed while the previous iteration ran (or just after), and not since. */
  changedDuringLast(): ReadonlySet<string> {
    this.settle();
    return this.last;
  }

  private settle(): void {
    if (this.mode !== 'ending') return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last = this.current;
    this.current = new Set();
    this.mode = 'idle';
  }
}
