/**
 * The facts behind the self-write rule (`plan/self-writes.ts`): which paths changed while the
 * previous iteration's own processes could write, and not since. Recording starts when the
 * iteration starts compiling and building (the steps that run the user's tools) and lasts until the
 * iteration ends (deploying gives the file events of those writes time to arrive). An iteration
 * that builds nothing (sync, redeploy, a config that does not load) records nothing, so a quick
 * save right after it is never taken for its write.
 */
export class WriteObserver {
  private recording = false;
  private current = new Set<string>();
  private last = new Set<string>();

  observe(path: string): void {
    if (this.recording) this.current.add(path);
    else this.last.delete(path); // changed again outside such a window: someone else's change
  }

  /** The iteration's compile and build steps start. */
  startWriters(): void {
    this.recording = true;
  }

  /** The iteration ended: what it recorded is now the previous iteration's writes. */
  endIteration(): void {
    this.last = this.current;
    this.current = new Set();
    this.recording = false;
  }

  /** Paths changed while the previous iteration's writers ran (or before it ended), and not since. */
  changedDuringLast(): ReadonlySet<string> {
    return this.last;
  }
}
