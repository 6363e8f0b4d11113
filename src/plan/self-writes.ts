/**
 * Iterations triggered by their own writes: a compile step that writes a generated file into its
 * inputs, a build that writes into the context. Each such iteration writes the file again and
 * starts the next one, forever. The rule (pure; the runner reports which paths changed while an
 * iteration ran and drops a path again when it changes while none runs):
 *
 * - a batch is *self-written* when every path that matters in it changed while the previous
 *   iteration ran, and none of them changed since;
 * - the first self-written batch runs (a compile step may update a file once, as `go build` does
 *   go.sum);
 * - the next one in a row with the same paths does not: a warning names them, and from then on a
 *   self-written batch made only of such looping files never starts an iteration. Its changes are
 *   kept and go along with the next iteration that another change starts (another file, the same
 *   file saved while nothing runs, or `r`).
 */

export interface SelfWriteState {
  /** Paths (absolute, sorted) of the last self-written batch that ran; empty when the last batch was not one. */
  lastSelfWritten: readonly string[];
  /** Files found rewritten by every iteration they trigger. */
  looping: ReadonlySet<string>;
}

export const noSelfWrites: SelfWriteState = { lastSelfWritten: [], looping: new Set() };

export interface SelfWriteVerdict {
  /** Do not start an iteration for this batch. */
  hold: boolean;
  next: SelfWriteState;
  /** Set once, when a loop is found: the looping files. */
  found?: string[];
}

/**
 * `paths`: the absolute paths that matter in the batch (inputs, manifests, the config file).
 * `changedDuringLast`: paths that changed while the previous iteration ran and not since.
 */
export function judgeSelfWrites(state: SelfWriteState, paths: readonly string[], changedDuringLast: ReadonlySet<string>): SelfWriteVerdict {
  const sorted = [...new Set(paths)].sort();
  const selfWritten = sorted.length > 0 && sorted.every((p) => changedDuringLast.has(p));
  if (!selfWritten) return { hold: false, next: { ...state, lastSelfWritten: [] } };
  if (sorted.every((p) => state.looping.has(p))) return { hold: true, next: state };
  if (!sameList(sorted, state.lastSelfWritten)) return { hold: false, next: { ...state, lastSelfWritten: sorted } };
  return { hold: true, next: { lastSelfWritten: sorted, looping: new Set([...state.looping, ...sorted]) }, found: sorted };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
