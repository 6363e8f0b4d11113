/**
 * Where a container's log was read up to, so a stream that drops can resume with `sinceTime` and
 * print no line twice. sinceTime only has second precision on the way to the kubelet, so a resumed
 * stream repeats the lines of that second: they are recognised by timestamp and by how many lines
 * with the last timestamp were already printed.
 */

/** Splits "2024-05-01T10:00:00.123456789Z text" into nanoseconds since the epoch and the text. */
export function splitTimestamp(line: string): { ns: bigint; text: string } | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?/.exec(line);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return { ns: BigInt(seconds) * 1_000_000n + fraction, text: line.slice(match[0].length) };
}

/** RFC 3339 at second precision, as the API server forwards sinceTime to the kubelet. */
export function sinceTimeOf(ns: bigint): string {
  return new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

export class LogCursor {
  /** Timestamp of the newest line printed. */
  private last: bigint | undefined;
  /** How many printed lines carry exactly `last`. */
  private atLast = 0;

  /** sinceTime for the next stream, or undefined when nothing was read yet. */
  sinceTime(): string | undefined {
    return this.last === undefined ? undefined : sinceTimeOf(this.last);
  }

  /** Starts reading a new stream; its `accept` drops what this cursor already printed. */
  begin(): (ns: bigint) => boolean {
    let repeatsLeft = this.atLast;
    const start = this.last;
    return (ns) => {
      if (start !== undefined && ns < start) return false;
      if (start !== undefined && ns === start && repeatsLeft > 0) {
        repeatsLeft--;
        return false;
      }
      if (this.last === undefined || ns > this.last) {
        this.last = ns;
        this.atLast = 1;
      } else if (ns === this.last) this.atLast++;
      return true;
    };
  }
}
