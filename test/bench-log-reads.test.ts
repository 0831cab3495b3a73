import { describe, expect, it } from "vitest";
import { runLogReadsBench } from "../bench/log-reads.js";

// LOG-READS runs each read in a process of its own; a small log checks that every read runs there
// and reports what it read (the figures themselves are the benchmark's, not a test's).

describe("the LOG-READS benchmark", () => {
  it("runs every read on a small log and reports its result", async () => {
    const section = await runLogReadsBench([3_000], 1);
    const rows = section
      .split("\n")
      .filter((line) => line.startsWith("| ") && !line.startsWith("| log MB"))
      .map((line) => line.split("|").map((cell) => cell.trim()));
    const result = (read: string) => rows.find((row) => row[2] === read)?.[6];
    expect(rows.map((row) => row[2])).toEqual([
      "(an idle process)",
      "`resumePoint`",
      "`resumePointAsync`",
      "`compactDecisionLog`",
      "`readReplayLog`",
      "`replay`",
      "`explain`",
      "restart: `resumePoint`, then `createLoggedEngine`",
      "restart: `createLoggedEngine` with `resume: true`",
    ]);
    // Both resume reads find the same generation, which a run of 3,000 digests in windows of 5 passes.
    expect(Number(result("`resumePoint`"))).toBeGreaterThan(300);
    expect(result("`resumePointAsync`")).toBe(result("`resumePoint`"));
    // The one-read restart started from the generation resumePoint reads.
    expect(result("restart: `createLoggedEngine` with `resume: true`")).toBe(result("`resumePoint`"));
    // A log this short keeps every record: 10,000 is more than it has.
    const records = Number(/wrote ([\d,]+) records/.exec(section)![1]!.replaceAll(",", ""));
    expect(Number(result("`compactDecisionLog`"))).toBe(records);
    expect(Number(result("`readReplayLog`"))).toBeGreaterThan(records / 2);
    // Replay compared every event readReplayLog holds, all identical.
    expect(result("`replay`")).toBe(result("`readReplayLog`"));
    // The resume point is a centre apply: the plus and minus windows fed it.
    expect(result("`explain`")).toBe("2");
  }, 120_000);
});
