import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RecordingTail } from "../src/dashboard/recording-tail.js";
import { readDecisionLog, readDecisionLogAppended, readDecisionLogAsync } from "../src/log/reader.js";
import { openDecisionLog } from "../src/log/writer.js";
import { runAtOnce, runInSlices, type Steps } from "../src/runtime/event-loop-slices.js";
import { fastClock, turnsDuring } from "./support/event-loop-turns.js";
import { auditEvent, tempDirs } from "./support/recording-tail.js";

// Reading a long log is verifying and decoding every frame on the calling thread: hundreds of
// milliseconds for tens of MB. The asynchronous readers do it in slices, the event loop turning
// between them. The slices are timed on performance.now, which here is 5 ms later at every call
// (fastClock), so a slice ends after two calls whatever the machine's speed.

const tempDir = tempDirs("arqon-slices-");

afterEach(() => {
  vi.restoreAllMocks();
});

const event = (seq: number) => auditEvent("slices", seq);

/** A log of `count` audit records in one segment, and its writer (closed by the caller). */
function auditLog(count: number) {
  const dir = join(tempDir(), "log");
  const writer = openDecisionLog({ dir, header: { kind: "header" } });
  for (let seq = 1; seq <= count; seq++) writer.appendCommand({ kind: "audit", event: event(seq) });
  return { dir, writer };
}

describe("steps run at once or in slices", () => {
  it("give the same result, and only the sliced run lets the event loop turn", async () => {
    function* sum(n: number): Steps<number> {
      let total = 0;
      for (let i = 1; i <= n; i++) {
        total += i;
        yield;
      }
      return total;
    }
    fastClock();
    expect(runAtOnce(sum(400))).toBe(80_200);
    const sliced = await turnsDuring(() => runInSlices(sum(400)));
    expect(sliced.result).toBe(80_200);
    expect(sliced.turns).toBeGreaterThanOrEqual(150);
  });
});

describe("steps resumed by a promise", () => {
  it("wait for the event loop's next turn before a slice, not run one where the promise settled", async () => {
    // The clock stands still: no slice ends by time, so only the rule after an await makes a turn.
    vi.spyOn(performance, "now").mockReturnValue(0);
    const turnedBefore: boolean[] = [];
    let turned = false;
    function* steps(): Steps<void> {
      yield Promise.resolve();
      setImmediate(() => {
        turned = true;
      });
      for (let i = 0; i < 3; i++) {
        turnedBefore.push(turned);
        yield;
      }
    }
    await runInSlices(steps());
    // The first step after the await runs at once; the next one only after the loop has turned.
    expect(turnedBefore).toEqual([false, true, true]);
  });
});

describe("reading a decision log asynchronously", () => {
  it("verifies a whole log and what was appended in slices, with the same records", async () => {
    const { dir, writer } = auditLog(400);
    try {
      const whole = readDecisionLog(dir);
      fastClock();
      // Without slices the loop turns only while the files are read: a few times, not per frame.
      const read = await turnsDuring(() => readDecisionLogAsync(dir));
      expect(read.result.records).toEqual(whole.records);
      expect(read.turns).toBeGreaterThanOrEqual(150);
      for (let seq = 401; seq <= 800; seq++) writer.appendCommand({ kind: "audit", event: event(seq) });
      const appended = await turnsDuring(async () => (await readDecisionLogAppended(dir, read.result.end!))!);
      expect(appended.result.records).toEqual(readDecisionLog(dir).records.slice(400));
      expect(appended.turns).toBeGreaterThanOrEqual(150);
    } finally {
      writer.close();
    }
  });

  it("follows a JSON-lines recording for the dashboard in slices, every event once", async () => {
    const file = join(tempDir(), "audit.jsonl");
    writeFileSync(file, Array.from({ length: 400 }, (_, i) => `${JSON.stringify(event(i + 1))}\n`).join(""));
    const tail = await RecordingTail.open(file);
    fastClock();
    const first = await turnsDuring(() => tail.poll());
    expect(first.result.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(first.turns).toBeGreaterThanOrEqual(150);
  });

  it("follows an engine's log for the dashboard in slices, every event once", async () => {
    const { dir, writer } = auditLog(400);
    try {
      const tail = await RecordingTail.open(dir);
      fastClock();
      const first = await turnsDuring(() => tail.poll());
      expect(first.result.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
      expect(first.turns).toBeGreaterThanOrEqual(150);
    } finally {
      writer.close();
    }
  });
});
