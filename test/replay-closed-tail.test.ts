import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { compactDecisionLog } from "../src/log/compact.js";
import { auditEventOf, timeRecordOf } from "../src/log/log-records.js";
import { readDecisionLog } from "../src/log/reader.js";
import { createLoggedEngine, replay } from "../src/node.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// A closed run's close marker is written after its engine stopped, so a crash cannot have taken
// the run's last audit records: a closed log that lacks them was edited (or compacted), and replay
// must not call it identical.

const logDir = tempLogDirs();
const PARAMS = { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } } as const;

/** Logs `ticks` digests 100 ms apart, an operator's rollback after the last, then closes. */
async function closedRun(dir: string, ticks: number): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const logged = createLoggedEngine(
    { seed: 3, params: PARAMS, window: { digests: 3 }, scheduler },
    { dir, flushMs: 50 },
  );
  for (let i = 0; i < ticks; i++) {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    const x = logged.engine.values[0]!;
    logged.engine.observe({ objective: ((x - 100) / 30) ** 2, generation: logged.engine.generation });
  }
  logged.engine.rollback("operator: bad deploy");
  scheduler.schedule(() => {}, 1000);
  scheduler.flush();
  await logged.close();
}

/** The audit seq of the operator's rollback command. */
function commandSeq(dir: string): number {
  const events = readDecisionLog(dir).records.map((r) => auditEventOf(r.record));
  return events.find((e) => e?.type === "command")!.seq;
}

describe("replay of a closed log whose last audit records are missing", () => {
  it("a whole closed log replays OK (exit 0)", async () => {
    const dir = logDir();
    await closedRun(dir, 120);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs[0]!.timingsPastEnd).toBe(0);
    expect((await runArqonInProcess(["replay", dir], dir)).status).toBe(0);
  });

  it("reports records missing from the end of a closed run as a divergence (exit 1)", async () => {
    const dir = logDir();
    await closedRun(dir, 120);
    const cut = commandSeq(dir);
    // Drop every audit record from the command on (the s13 repro); timings and the close marker stay.
    compactDecisionLog(dir, (entry) => {
      const event = auditEventOf(entry.record);
      return event === undefined || event.seq < cut;
    });
    const result = await replay(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const d = result.divergence;
    expect(d.seq).toBe(cut);
    expect(d.expected).toBeNull();
    expect(d.reason).toMatch(/^audit records missing from the end of this closed run \(removed from the log/);
    expect(d.reason).toMatch(
      /the close marker says generation (\d+), the replay ended at generation (?!\1)\d+/,
    );
    // The close marker is the log's last record: the divergence points at it.
    expect(d.index).toBe(readDecisionLog(dir).records.length);

    const cli = await runArqonInProcess(["replay", dir], dir);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain(`replay DIVERGED at record ${d.index} (seq ${cut}): audit records missing`);
    expect(cli.stdout).toContain("  logged  (nothing)");
  });

  it("names the records the replayed engine wrote past the last one logged", async () => {
    const dir = logDir();
    await closedRun(dir, 120);
    const cut = commandSeq(dir);
    // The command stays, so the replay rolls back; the rollback and what followed are gone.
    compactDecisionLog(dir, (entry) => {
      const event = auditEventOf(entry.record);
      return event === undefined || event.seq <= cut;
    });
    const result = await replay(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const d = result.divergence;
    expect(d.seq).toBe(cut + 1);
    expect(d.actual).toMatchObject({ type: "rollback", seq: cut + 1 });
    expect(d.reason).toMatch(
      new RegExp(
        `the replayed engine wrote records? ${cut + 1}(–\\d+)? after the last one logged \\(seq ${cut}\\)`,
      ),
    );
  });

  it("counts timings logged after the last audit record of a closed run as missing records", async () => {
    const dir = logDir();
    await closedRun(dir, 120);
    const records = readDecisionLog(dir).records;
    const lastTiming = records.findLast((r) => timeRecordOf(r.record) !== undefined)!;
    const after = timeRecordOf(lastTiming.record)!.after;
    // Drop the audit records the last timing followed, and everything audit after them.
    compactDecisionLog(dir, (entry) => {
      const event = auditEventOf(entry.record);
      return event === undefined || event.seq <= after - 1;
    });
    const result = await replay(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.runs[0]!.timingsPastEnd).toBeGreaterThan(0);
    expect(result.divergence.reason).toMatch(
      /timings? (was|were) logged after audit records the log does not hold/,
    );
  });
});
