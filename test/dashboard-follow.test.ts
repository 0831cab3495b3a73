import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { MAX_READ_BYTES } from "../src/dashboard/recording-tail.js";
import { openDecisionLog } from "../src/log/writer.js";
import { createLoggedEngine, type FollowedRecording, followRecording, RecordingError } from "../src/node.js";

// Following is driven by the recording's own polling timer (20 ms here); the tests wait for the
// events to arrive through a subscriber, with vitest's timeout as the bound, and never sleep.

const base = { v: AUDIT_SCHEMA_VERSION, runId: "tail", generation: 0, proposalId: -1 } as const;
const event = (seq: number, extra: object = {}) => ({
  ...base,
  seq,
  time: seq * 100,
  type: "baseline.set",
  ...extra,
});
const line = (e: object) => `${JSON.stringify(e)}\n`;

const dirs: string[] = [];
const followed: FollowedRecording[] = [];
afterEach(async () => {
  for (const f of followed.splice(0)) await f.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "arqon-follow-"));
  dirs.push(dir);
  return dir;
}
async function follow(path: string): Promise<FollowedRecording> {
  const f = await followRecording(path, { intervalMs: 20 });
  followed.push(f);
  return f;
}
/** Collects the seqs a subscriber sees, and resolves once `n` have arrived. */
function collect(source: FollowedRecording) {
  const seen: number[] = [];
  const waiters: { n: number; done: () => void }[] = [];
  source.subscribe((e: AuditEvent) => {
    seen.push(e.seq);
    for (const w of waiters.splice(0))
      if (seen.length >= w.n) w.done();
      else waiters.push(w);
  });
  return {
    seen,
    until: (n: number) =>
      seen.length >= n ? Promise.resolve() : new Promise<void>((done) => waiters.push({ n, done })),
  };
}

describe("followRecording", () => {
  it("reads a JSON-lines file, then delivers each appended line, and waits for a line's newline", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(file, line(event(1)) + line(event(2)));
    const source = await follow(file);
    expect(source.count).toBe(2);
    const seen = collect(source);
    expect(seen.seen).toEqual([1, 2]);

    appendFileSync(
      file,
      line(event(3, { type: "mode.changed", from: "normal", to: "frozen", reasons: ["spike"] })),
    );
    await seen.until(3);
    expect(source.view().mode).toBe("frozen");

    // Half a line: nothing until the rest (and its newline) is written.
    const half = line(event(4, { generation: 4 }));
    appendFileSync(file, half.slice(0, 20));
    appendFileSync(file, half.slice(20));
    await seen.until(4);
    expect(seen.seen).toEqual([1, 2, 3, 4]);
    expect(source.view().generation).toBe(4);
    expect(source.count).toBe(4);
  });

  it("takes a last line without a newline once it is a whole event", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(file, line(event(1)) + JSON.stringify(event(2)));
    const source = await follow(file);
    expect(source.count).toBe(2);
    const seen = collect(source);
    appendFileSync(file, `\n${line(event(3))}`);
    await seen.until(3);
    expect(seen.seen).toEqual([1, 2, 3]);
  });

  it("follows a directory of .jsonl files, new files included", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.jsonl"), line(event(1)));
    const source = await follow(dir);
    const seen = collect(source);
    writeFileSync(join(dir, "b.jsonl"), line(event(2)));
    appendFileSync(join(dir, "a.jsonl"), line(event(3)));
    await seen.until(3);
    expect([...seen.seen].sort()).toEqual([1, 2, 3]);
  });

  it("shows the run an engine's own decision log recorded", async () => {
    // createLoggedEngine wraps each audit event in a log record; the dashboard must unwrap them.
    const dir = join(tempDir(), "decisions");
    const scheduler = new VirtualTimeScheduler();
    const { engine, close } = createLoggedEngine(
      {
        seed: 5,
        params: { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } },
        window: { digests: 5 },
        scheduler,
      },
      { dir, flushMs: 50 },
    );
    for (let tick = 1; tick <= 300; tick++) {
      scheduler.schedule(() => {}, 10);
      scheduler.flush();
      engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
    }
    const generation = engine.generation;
    await close();
    const source = await follow(dir);
    expect(source.count).toBeGreaterThan(100);
    expect(generation).toBeGreaterThan(2);
    expect(source.view().generation).toBe(generation);
  });

  it("follows a decision log as its writer appends", async () => {
    const dir = join(tempDir(), "log");
    const log = openDecisionLog({ dir, header: { kind: "header", engine: "test" } });
    const { seq: _one, ...first } = event(1);
    log.append(first);
    log.flush();
    const source = await follow(dir);
    const seen = collect(source);
    expect(seen.seen).toEqual([1]);
    const { seq: _two, ...apply } = event(2, {
      type: "apply",
      kind: "plus",
      values: { x: 2 },
      generation: 1,
    });
    log.append(apply);
    log.flush();
    await seen.until(2);
    expect(source.view().values).toEqual({ x: 2 });
    expect(source.view().phase).toBe("cycle.plus");
    log.close();
  });

  it("reports a malformed appended line and stops following; refuses a bad path at once", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(file, line(event(1)));
    let report: (error: RecordingError) => void = () => {};
    const failed = new Promise<RecordingError>((resolve) => {
      report = resolve;
    });
    const source = await followRecording(file, { intervalMs: 20, onError: (error) => report(error) });
    followed.push(source);
    expect(source.view().stopped).toBeUndefined();
    appendFileSync(file, "{oops\n");
    const error = await failed;
    expect(error).toBeInstanceOf(RecordingError);
    expect(error.message).toMatch(/run\.jsonl:2: not JSON/);
    // The view says so, for the page: it must not look followed while it shows stale events.
    expect(source.view().stopped).toBe(error.message);
    expect(source.view().time).toBe(100);
    await expect(followRecording(join(tempDir(), "missing.jsonl"))).rejects.toThrow(/cannot read/);
    await expect(followRecording(file, { intervalMs: 5 })).rejects.toThrow(/intervalMs/);
  });

  it("reads a recording longer than one read step in bounded steps, keeping only the latest events", async () => {
    const file = join(tempDir(), "long.jsonl");
    const one = line(event(1, { note: "x".repeat(200) }));
    const n = Math.ceil((MAX_READ_BYTES * 1.5) / one.length);
    writeFileSync(
      file,
      Array.from({ length: n }, (_, i) => line(event(i + 1, { note: "x".repeat(200) }))).join(""),
    );
    const source = await followRecording(file, { intervalMs: 20, keep: 100 });
    followed.push(source);
    expect(source.count).toBe(n);
    const seen = collect(source);
    expect(seen.seen).toHaveLength(100);
    expect(seen.seen.at(-1)).toBe(n);
    expect(source.view().time).toBe(n * 100);
  });

  it("closes cleanly: no more events, and close is idempotent", async () => {
    const file = join(tempDir(), "run.jsonl");
    writeFileSync(file, line(event(1)));
    const source = await follow(file);
    const seen = collect(source);
    await source.close();
    await source.close();
    appendFileSync(file, line(event(2)));
    const again = await follow(file); // a second reader sees the line, the closed one never will
    expect(again.count).toBe(2);
    expect(seen.seen).toEqual([1]);
  });
});
