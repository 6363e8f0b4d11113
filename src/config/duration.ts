/** What a duration looks like (after trimming); also the pattern of the JSON Schema. */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** "120s", "2m", "500ms", "1m30s", "1h" → milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_PATTERN.test(trimmed)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(match[1]) * unit[match[2]!]!;
  return Math.round(total);
}

/** Milliseconds → the shortest readable form ("2m", "1m30s", "500ms"), for showing effective config. */
export function formatDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let seconds = ms / 1000;
  const h = Math.floor(seconds / 3600);
  seconds -= h * 3600;
  const m = Math.floor(seconds / 60);
  seconds -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${seconds || (!h && !m) ? `${seconds}s` : ''}`;
}
