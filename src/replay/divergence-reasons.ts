/**
 * What replay says when a logged event and the replay's differ, or when records are missing: the
 * reason of a divergence, in words a reader can act on.
 */
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../audit/events.js";
import { firstDifference } from "./compare.js";
import type { LoggedFailure } from "./read-log.js";
import type { MissingRecords, SeqRange } from "./replay.js";

/** "records 18–23" or "record 18". */
export function describeRange({ from, to }: SeqRange): string {
  return from === to ? `record ${from}` : `records ${from}–${to}`;
}

/** What took missing records, by cause. */
export const MISSING_CAUSE: Readonly<Record<MissingRecords["cause"], string>> = {
  ring: "dropped by a full audit ring",
  removed: "removed from the log: a compaction or an edit",
  unknown: "a full audit ring, a compaction or an edit",
};

/** "missing …" for records that all have the cause (the ring's case is worded on its own). */
const MISSING_BECAUSE: Readonly<Record<"removed" | "unknown", string>> = {
  removed: "missing from the log (removed from it: a compaction or an edit)",
  unknown: "missing (a full audit ring, a compaction or an edit)",
};

/** Why a divergence after missing records is most likely their doing. */
export function blameMissing(missing: readonly MissingRecords[], reason: string): string {
  const consequence = `so inputs they held were not replayed; first difference after that: ${reason}`;
  const single = missing.length === 1 && missing[0]!.from === missing[0]!.to;
  const ranges = missing.map(describeRange).join(", ");
  const cause = missing[0]!.cause;
  if (missing.some((m) => m.cause !== cause)) {
    const each = missing.map((m) => `${describeRange(m)} (${MISSING_CAUSE[m.cause]})`);
    return `audit ${each.join(", ")} of this run are missing, ${consequence}`;
  }
  // Only a ring drop the log shows is blamed on the ring.
  if (cause === "ring")
    return `audit ${ranges} of this run ${single ? "was" : "were"} dropped (the audit ring was full), ${consequence}`;
  return `audit ${ranges} of this run ${single ? "is" : "are"} ${MISSING_BECAUSE[cause]}, ${consequence}`;
}

/**
 * How a logged event compares with the one the replay wrote under its seq (`written`, null for
 * none): the replay's event as the log's schema holds it (`actual`), and the reason they differ,
 * undefined when they do not. `unreplayable`, when given, is why the input or timing before it
 * could not be replayed, and is the reason.
 */
export function loggedAgainstWritten(
  expected: AuditEvent,
  written: AuditEvent | null,
  schema: number,
  unreplayable: string | undefined,
): { readonly actual: AuditEvent | null; readonly reason: string | undefined } {
  // An event logged under an older audit schema carries that schema's `v`; the replay writes
  // today's. Later schemas only added event types and fields (see asOlderSchema), so the same
  // event compares as the same.
  const actual =
    schema < AUDIT_SCHEMA_VERSION &&
    written !== null &&
    expected.v === schema &&
    written.v === AUDIT_SCHEMA_VERSION
      ? asOlderSchema(written, expected.v)
      : written;
  const reason =
    unreplayable ??
    (actual === null
      ? "the replayed engine wrote no event with this seq"
      : firstDifference(expected, actual));
  return { actual, reason };
}

/** What the end of a closed run shows (see {@link closedTailReason}). */
export interface ClosedTail {
  /** The last seq the run logged. */
  readonly lastSeq: number;
  /** The seqs the replay wrote above it, ascending. */
  readonly beyond: readonly number[];
  /** The generation the replay ended at (undefined when it does not say). */
  readonly generation: number | undefined;
  /** The generation the close marker records (undefined when it holds none). */
  readonly marked: number | undefined;
  readonly timingsPastEnd: number;
  /** What the log tells of records missing between the run's last event and its close marker. */
  readonly cause: MissingRecords["cause"];
}

/**
 * Why a closed run lacks audit records at its end, or undefined when nothing shows it. Its close
 * marker was written after the engine stopped, so no crash took them: the replayed engine wrote
 * records past the last one logged, ended at another generation than the marker's, or timings were
 * logged after audit records the log lacks.
 */
export function closedTailReason(tail: ClosedTail): string | undefined {
  const { lastSeq, beyond, generation, marked, timingsPastEnd } = tail;
  const problems: string[] = [];
  if (beyond.length > 0) {
    const range = describeRange({ from: beyond[0]!, to: beyond.at(-1)! });
    problems.push(`the replayed engine wrote ${range} after the last one logged (seq ${lastSeq})`);
  }
  if (marked !== undefined && generation !== undefined && generation !== marked)
    problems.push(`the close marker says generation ${marked}, the replay ended at generation ${generation}`);
  if (timingsPastEnd > 0)
    problems.push(
      `${timingsPastEnd} timing${timingsPastEnd === 1 ? " was" : "s were"} logged after audit records the log does not hold`,
    );
  if (problems.length === 0) return undefined;
  return `audit records missing from the end of this closed run (${MISSING_CAUSE[tail.cause]}; its close marker was written after the engine stopped, so no crash took them): ${problems.join("; ")}`;
}

/**
 * `event` as a log of audit schema `v` holds it: that schema's `v`, without `window.closed`'s
 * `remeasure` below schema 5 and its `negatedMargin` and `mixedMeasure` below schema 6, which
 * added them (the window was re-measured, or measured the margin, all the same), nor
 * `spsa.stalled`'s `shortWindows` and `digestSpacingMs` nor `digest.rejected`'s `field` and
 * `problem` below schema 8, nor a restored halt's `restores` and a `baseline.set`'s `values` below
 * schema 9 (an older engine restored no halt's reasons and took no baseline from its config).
 */
function asOlderSchema(event: AuditEvent, v: AuditEvent["v"]): AuditEvent {
  if (event.type === "window.closed") {
    const { remeasure, negatedMargin, mixedMeasure, ...rest } = event;
    return {
      ...rest,
      ...(remeasure === undefined || v < 5 ? {} : { remeasure }),
      ...(negatedMargin === undefined || v < 6 ? {} : { negatedMargin }),
      ...(mixedMeasure === undefined || v < 6 ? {} : { mixedMeasure }),
      v,
    };
  }
  if (event.type === "spsa.stalled" && v < 8) {
    const { shortWindows: _, digestSpacingMs: __, ...rest } = event;
    return { ...rest, v };
  }
  if (event.type === "digest.rejected" && v < 8) {
    const { field: _, problem: __, ...rest } = event;
    return { ...rest, v };
  }
  if (event.type === "command" && v < 9) {
    const { restores: _, ...rest } = event;
    return { ...rest, v };
  }
  if (event.type === "baseline.set" && v < 9) {
    const { values: _, ...rest } = event;
    return { ...rest, v };
  }
  return { ...event, v };
}

/**
 * What a run whose engine failed internally says at its failure record, when the `before` records
 * up to it replayed identically (the `after` logged after it were not compared): a replayed engine
 * does not fail that way.
 */
export function failureReason(failure: LoggedFailure, before: number, after: number): string {
  return (
    `the logged engine failed internally at t=${failure.time} ms (generation ${failure.generation}): ${failure.message}; ` +
    `the engine adapted no more, and a replayed engine does not fail that way, so replay stopped there: ` +
    `the ${before} records up to it replayed identically, the ${after} logged after it were not compared`
  );
}
