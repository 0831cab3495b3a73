import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES_DIR } from "../scripts/golden-fixtures.js";
import { readDecisionLog } from "../src/log/reader.js";
import type { LogEntry } from "../src/log/records.js";
import { replay } from "../src/node.js";

// Audit records missing from a run are reported with their cause, as far as the log tells, the
// same way whether the run replays as it is read (a log with timings, v3) or is held whole until
// the log is read (an older one, v2). The golden fixtures give one run of each.

type Edit = "removed" | "ring" | "bare";

/**
 * The fixture's records without `count` consecutive audit records from the middle of its run:
 * their log seqs left as they were (removed from the log), renumbered to run on (as when a full
 * audit ring dropped them before they were logged), or every seq left out (bare records).
 */
function withoutAuditRecords(version: "v2" | "v3", count: number, edit: Edit) {
  const { header, records } = readDecisionLog(join(FIXTURES_DIR, `decision-log-${version}`));
  const isAudit = (k: number) => records[k]?.record.kind === "audit";
  let start = Math.floor(records.length / 2);
  while (!Array.from({ length: count }, (_, i) => start + i).every(isAudit)) {
    start++;
    expect(start).toBeLessThan(records.length);
  }
  const cut = Array.from({ length: count }, (_, i) => start + i);
  const seqs = cut.map((k) => (records[k]!.record.event as { seq: number }).seq);
  const kept = records.filter((_, k) => !cut.includes(k));
  const logged =
    edit === "ring"
      ? kept.map((entry, k): LogEntry => ({ ...entry, seq: k + 1, record: { ...entry.record, seq: k + 1 } }))
      : kept;
  const input =
    edit === "bare"
      ? [bare(header!), ...logged.map((entry) => bare(entry.record))]
      : { header, records: logged };
  return { input, from: seqs[0]!, to: seqs.at(-1)! };
}

/** A log record without its log seq; an audit record as its bare event. */
function bare(record: object): unknown {
  const { seq: _seq, ...rest } = record as { seq?: number; kind?: string; event?: unknown };
  return rest.kind === "audit" ? rest.event : rest;
}

describe("audit records missing from a run", () => {
  for (const version of ["v2", "v3"] as const) {
    for (const [edit, cause] of [
      ["removed", "removed"],
      ["ring", "ring"],
      ["bare", "unknown"],
    ] as const) {
      it(`${version} run (${version === "v2" ? "held whole" : "replayed as read"}), ${edit}: the gap and its cause`, async () => {
        const { input, from, to } = withoutAuditRecords(version, 3, edit);
        const result = await replay(input);
        const [run] = result.runs;
        expect(run!.dropped).toEqual([{ from, to, cause }]);
        expect(to - from).toBe(2);
        // Inputs among them were not replayed, so the replay differs after them: the difference is
        // blamed on the missing records first.
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.divergence.dropped).toEqual([{ from, to, cause }]);
        expect(result.divergence.reason.startsWith(`audit records ${from}–${to} of this run `)).toBe(true);
      });
    }
  }
});
