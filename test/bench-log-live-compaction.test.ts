import { describe, expect, it } from "vitest";
import { runLiveCompactionBench } from "../bench/log-live-compaction.js";

// LOG-LIVE-COMPACTION runs each engine in a process of its own; a short feed with small segments
// checks that both run there, that the compacting one compacts and stays smaller, and that the
// section reports it (the timing figures themselves are the benchmark's, not a test's).

describe("the LOG-LIVE-COMPACTION benchmark", () => {
  it("runs both engines on a short feed and reports the compacting one's log", async () => {
    const section = await runLiveCompactionBench({
      digests: 12_000,
      rate: 5_000,
      segmentBytes: 128 * 1024,
      keepRecords: 2_000,
    });
    const cells = (label: string) =>
      section
        .split("\n")
        .find((line) => line.startsWith(`| ${label}`))!
        .split("|")
        .map((cell) => cell.trim());
    const full = cells("every record kept");
    const kept = cells("keepRecords 2,000");
    const count = (cell: string) => Number(cell.replaceAll(",", ""));
    // Columns: log, wall s, digests/s, delays, directory MB, records, compactions (failed), their
    // ms, RSS.
    const [compactions, failed] = /^(\d+) \((\d+)\)$/.exec(kept[7]!)!.slice(1).map(Number);
    expect(compactions).toBeGreaterThan(0);
    expect(failed).toBe(0);
    // Fewer records than the whole log: how many fewer depends on how many compactions the
    // machine fitted into the feed, as full segments wait for the one running to end.
    expect(count(full[6]!)).toBeGreaterThan(25_000);
    expect(count(kept[6]!)).toBeLessThan(count(full[6]!) * 0.8);
    // A compaction copies the records it keeps as they are: the gate holds whatever the machine.
    expect(section).toMatch(
      /\| the records kept take no more room than in the log they came from[^\n]*\| PASS +\|/,
    );
  }, 120_000);
});
