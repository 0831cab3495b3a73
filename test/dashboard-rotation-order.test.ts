import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { followRecording } from "../src/dashboard/followed-source.js";
import { MeasuredBaselineTracker } from "../src/dashboard/measured-baseline.js";
import { RecordingTail } from "../src/dashboard/recording-tail.js";

// logrotate numbers rotated files from the newest (audit.1.jsonl) to the oldest, so their names
// sort against their order; since a seq that drops starts a new run, reading them in name order
// would show the oldest file's state as the current one. The first read is all these tests need.

const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", proposalId: -1, generation: 0 } as const;
const at = (seq: number, type: string, extra: object = {}, time = seq * 10) => ({
  ...base,
  seq,
  time,
  type,
  ...extra,
});
const lines = (events: readonly object[]) => events.map((e) => `${JSON.stringify(e)}\n`).join("");
const seqs = (events: readonly AuditEvent[]) => events.map((e) => e.seq);

/** Seqs 1–5: the baseline and its first window, then a switch to conservative mode. */
const older = [
  at(1, "baseline.set"),
  at(2, "window.closed", { value: 10 }),
  at(3, "mode.changed", { from: "normal", to: "conservative", reasons: ["spike"] }),
  at(4, "decision.step", { iteration: 0 }),
  at(5, "window.closed", { value: 20 }),
];
/** Seqs 6–10, the same run: back to normal, more steps, another window at the baseline. */
const newer = [
  at(6, "mode.changed", { from: "conservative", to: "normal", reasons: [] }),
  at(7, "decision.step", { iteration: 1 }),
  at(8, "window.closed", { value: 30 }),
  at(9, "decision.step", { iteration: 2 }),
  at(10, "window.closed", { value: 40 }),
];

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function rotatedDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "arqon-rotation-order-"));
  dirs.push(dir);
  writeFileSync(join(dir, "audit.2.jsonl"), lines(older));
  writeFileSync(join(dir, "audit.1.jsonl"), lines(newer));
  return dir;
}

/** The view and the measured baseline a dashboard started on `dir` shows, and the events it read. */
async function dashboardOn(dir: string) {
  const followed = await followRecording(dir);
  const events: AuditEvent[] = [];
  const baseline = new MeasuredBaselineTracker();
  followed.subscribe((event) => {
    events.push(event);
    baseline.addEvent(event);
  });
  const view = followed.view();
  await followed.close();
  return { events, view, baseline: baseline.current() };
}

describe("a followed directory of rotated files", () => {
  it("is read in the order of its events, not of its names", async () => {
    const tail = await RecordingTail.open(rotatedDir());
    expect(seqs(await tail.poll())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("shows the newest file's state and a baseline over both files", async () => {
    const { events, view, baseline } = await dashboardOn(rotatedDir());
    expect(seqs(events)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(view).toMatchObject({ mode: "normal", phase: "cycle.holding", iteration: 3, time: 100 });
    expect(baseline).toEqual({ value: 25, windows: 4, generation: 0 });
  });

  it("still starts a new run at a later file whose seqs start again at 1", async () => {
    const dir = rotatedDir();
    // The engine restarted: its events number from 1 again, after the others in time.
    writeFileSync(
      join(dir, "audit.jsonl"),
      lines([
        at(1, "baseline.set", {}, 1000),
        at(2, "mode.changed", { from: "normal", to: "frozen", reasons: ["manual"] }, 1010),
        at(3, "window.closed", { value: 50 }, 1020),
      ]),
    );
    const { events, view, baseline } = await dashboardOn(dir);
    expect(seqs(events)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3]);
    expect(view).toMatchObject({ mode: "frozen", reasons: ["manual"], phase: "paused", iteration: 0 });
    expect(baseline).toEqual({ value: 50, windows: 1, generation: 0 });
  });

  it("orders a restart by its time even when its name sorts first", async () => {
    const dir = rotatedDir();
    writeFileSync(join(dir, "0-restart.jsonl"), lines([at(1, "baseline.set", {}, 1000)]));
    const tail = await RecordingTail.open(dir);
    const events = await tail.poll();
    expect(events.map((e) => `${e.seq}@${e.time}`)).toEqual([
      ...[...older, ...newer].map((e) => `${e.seq}@${e.time}`),
      "1@1000",
    ]);
  });
});
