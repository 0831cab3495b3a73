import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VirtualTimeScheduler } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { followRecording } from "../src/dashboard/followed-source.js";
import { RecordedViewFold } from "../src/dashboard/recorded-view.js";
import { type DashboardServer, serveDashboard } from "../src/dashboard/server.js";
import type { DashboardSource, DashboardView } from "../src/dashboard/source.js";
import { parseSseChunk, type SseMessage } from "../src/dashboard/sse.js";
import { createLoggedEngine } from "../src/log/engine-log.js";

// A log an engine was restarted on holds several runs, each numbering its audit events from 1:
// the recorded view must show the run that is going on, and the event stream must still tell
// its messages apart.

const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", proposalId: -1 } as const;
const at = (seq: number, extra: object = {}) =>
  ({ ...base, seq, time: seq * 10, generation: 0, type: "baseline.set", ...extra }) as AuditEvent;

const dirs: string[] = [];
const servers: DashboardServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs a logged engine on `dir` for `ticks` digests, halting it at the end when asked. */
async function runOnce(dir: string, ticks: number, halt: boolean) {
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
  for (let tick = 1; tick <= ticks; tick++) {
    scheduler.schedule(() => {}, 10);
    scheduler.flush();
    engine.observe({ objective: 20 + ((engine.values[0]! - 96) / 40) ** 2, generation: engine.generation });
  }
  if (halt) {
    engine.halt("operator stop");
    engine.flushEvents();
  }
  const snapshot = engine.snapshot();
  await close();
  return snapshot;
}

describe("a recording of several runs", () => {
  it("starts the view over when a run starts again at seq 1", () => {
    const fold = new RecordedViewFold("two runs");
    fold.add(at(1));
    fold.add(at(2, { type: "mode.changed", from: "normal", to: "halted", reasons: ["manualHalt"] }));
    fold.add(at(3, { type: "decision.step", iteration: 6, generation: 4 }));
    expect(fold.view()).toMatchObject({ mode: "halted", phase: "paused", iteration: 7 });
    // The restarted engine's first event.
    fold.add(at(1, { time: 500 }));
    expect(fold.view()).toMatchObject({
      mode: "normal",
      reasons: [],
      phase: "cycle.holding",
      iteration: 0,
      statechart: { spsa: "cycle.holding", safeMode: "normal" },
      time: 500,
    });
  });

  it("starts the view over for another run id, unknown until its mode when it starts mid-run", () => {
    const fold = new RecordedViewFold("two runs");
    fold.add(at(1));
    fold.add(at(2, { type: "mode.changed", from: "normal", to: "frozen", reasons: ["spike"] }));
    fold.add({ ...at(40), runId: "other" });
    expect(fold.view()).toMatchObject({ mode: "unknown", reasons: [], phase: null, iteration: null });
    expect(fold.view().title).toBe("other (two runs)");
  });

  it("shows a followed engine log's last run, not the SafeMode of the run before", async () => {
    const root = mkdtempSync(join(tmpdir(), "arqon-hunt-restart-"));
    dirs.push(root);
    const dir = join(root, "log");
    const first = await runOnce(dir, 300, true);
    expect(first.mode).toBe("halted");
    const second = await runOnce(dir, 60, false);
    const followed = await followRecording(dir, { intervalMs: 20 });
    try {
      const view = followed.view();
      expect(view.mode).toBe(second.mode);
      expect(view.reasons).toEqual(second.reasons);
      expect(view.statechart.safeMode).toBe(second.mode);
      expect(view.phase).toBe(second.phase);
      expect(view.iteration).toBe(second.iteration);
      expect(view.generation).toBe(second.generation);
    } finally {
      await followed.close();
    }
  });
});

/** A source whose events the test emits by hand. */
function manualSource() {
  let listener: ((event: AuditEvent) => void) | undefined;
  const view: DashboardView = {
    source: "recorded",
    title: "t",
    names: [],
    time: 0,
    generation: 0,
    values: null,
    mode: "normal",
    reasons: [],
    phase: null,
    statechart: {},
    iteration: null,
    units: {},
  };
  const source: DashboardSource = {
    view: () => view,
    subscribe(l) {
      listener = l;
      return () => {
        listener = undefined;
      };
    },
  };
  return { source, emit: (event: AuditEvent) => listener?.(event) };
}

/** Opens `/events` and collects its messages; `until` resolves once `n` audit messages came. */
function openStream(url: string) {
  const audits: SseMessage[] = [];
  const waiters: { n: number; done: () => void }[] = [];
  let ready: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const req = request(new URL("events", url), (res) => {
    res.setEncoding("utf8");
    let rest = "";
    res.on("data", (chunk: string) => {
      const parsed = parseSseChunk(rest + chunk);
      rest = parsed.rest;
      for (const message of parsed.messages) {
        if (message.event === "init") ready();
        if (message.event === "audit") audits.push(message);
      }
      for (const w of waiters.splice(0))
        if (audits.length >= w.n) w.done();
        else waiters.push(w);
    });
  });
  req.on("error", () => {});
  req.end();
  return {
    opened,
    audits,
    until: (n: number) =>
      audits.length >= n ? Promise.resolve() : new Promise<void>((done) => waiters.push({ n, done })),
    close: () => req.destroy(),
  };
}

describe("the event stream of several runs", () => {
  it("gives each audit message its own id, increasing, though seqs start again", async () => {
    const { source, emit } = manualSource();
    const server = await serveDashboard(source);
    servers.push(server);
    const stream = openStream(server.url);
    await stream.opened;
    for (const seq of [1, 2, 3, 1, 2]) emit(at(seq));
    await stream.until(5);
    const ids = stream.audits.map((m) => Number(m.id));
    expect(stream.audits.map((m) => (JSON.parse(m.data) as AuditEvent).seq)).toEqual([1, 2, 3, 1, 2]);
    expect(ids.every(Number.isSafeInteger)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    stream.close();
  });
});
