import { jsonKey } from "../space/params.js";
import { textDigest } from "./bounds-digest.js";

/** What a saved run records about itself beside its config, each checked against the config. */
export interface RunRecord {
  readonly boundsDigest?: unknown;
  readonly budget?: unknown;
  readonly seed?: unknown;
  readonly direction?: unknown;
  readonly extended?: unknown;
}

/**
 * A short digest of a run's own record (its parameters' digest, budget, seed, direction and how
 * far it grew). A restore checks each of these against the config saved beside it, which refuses
 * an edit of either copy; this digest refuses an edit of both, which the restore would otherwise
 * take as the run's own (a direction flipped in both places reads every told value the other
 * way round, and `best()` gives the worst point).
 */
export function runDigest(record: RunRecord): string {
  const { boundsDigest, budget, seed, direction, extended } = record;
  return textDigest(
    jsonKey([boundsDigest ?? null, budget ?? null, seed ?? null, direction ?? null, extended ?? 0]),
  );
}
