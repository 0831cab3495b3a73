import { describe, expect, it } from "vitest";
import { type SizeFigures, supervisorReport } from "../bench/supervisor.js";

/** One size's figures: 10 µs spawns and 5 µs stops, 40 KB per engine, 3 M and 2 M digests/s. */
function row(engines: number, changes: Partial<SizeFigures> = {}): SizeFigures {
  return {
    engines,
    spawnUs: 10,
    stopUs: 5,
    spawnCpuUs: 12,
    stopCpuUs: 6,
    fillUs: 11,
    drainUs: 6,
    closeUs: 4,
    bytesPerEngine: 40 * 1024,
    directPerSecond: 3e6,
    sendPerSecond: 2e6,
    ...changes,
  };
}

const verdicts = (report: string) =>
  report
    .split("\n")
    .filter((line) => /\| (PASS|FAIL)\s*\|$/.test(line))
    .map((line) => (line.includes("PASS") ? "PASS" : "FAIL"));

describe("supervisorReport (the supervisor bench's gates)", () => {
  it("passes flat spawn and stop times, fast ingest and small engines", () => {
    const { report, pass } = supervisorReport([row(10), row(100), row(1_000), row(10_000)]);
    expect(pass).toBe(true);
    expect(verdicts(report)).toEqual(["PASS", "PASS", "PASS", "PASS", "PASS"]);
    expect(report).toContain("spawning / stopping all N µs/engine");
  });

  it("fails a size whose spawn time is off the median by more than 20 %, faster or slower", () => {
    const faster = supervisorReport([row(10), row(100), row(1_000), row(10_000, { spawnUs: 5 })]);
    expect(faster.pass).toBe(false);
    expect(verdicts(faster.report)).toEqual(["FAIL", "PASS", "PASS", "PASS", "PASS"]);
    const slower = supervisorReport([row(10), row(100), row(1_000), row(10_000, { stopUs: 6.5 })]);
    expect(verdicts(slower.report)).toEqual(["PASS", "FAIL", "PASS", "PASS", "PASS"]);
  });

  it("holds 1,000 engines to 2 M digests/s direct, 1 M through send, and every size to 50 KB", () => {
    const slow = supervisorReport([row(10), row(1_000, { directPerSecond: 1.99e6, sendPerSecond: 0.99e6 })]);
    expect(verdicts(slow.report)).toEqual(["PASS", "PASS", "FAIL", "FAIL", "PASS"]);
    const big = supervisorReport([row(10, { bytesPerEngine: 50 * 1024 + 1 }), row(1_000)]);
    expect(verdicts(big.report)).toEqual(["PASS", "PASS", "PASS", "PASS", "FAIL"]);
  });
});
