import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Subject } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { RecordedViewFold } from "../src/dashboard/recorded-view.js";
import { createEngine, createSupervisor, type Engine } from "../src/index.js";
import { type DashboardServer, engineSource, serveDashboard, type TwinPoint } from "../src/node.js";
import { ManualClock } from "./support/engine-clock.js";

const KNOBS = { x: { min: 0, max: 10, init: 5, maxDelta: 1 } };
const servers: DashboardServer[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const c of closers.splice(0)) await c();
});
async function serve(...args: Parameters<typeof serveDashboard>) {
  const server = await serveDashboard(...args);
  servers.push(server);
  return server;
}
async function state(server: DashboardServer) {
  return (await (await fetch(new URL("state", server.url))).json()) as {
    view: {
      title: string;
      source: string;
      units: object;
      names: string[];
      statechart: Record<string, string>;
    };
    baseline: { value: number; windows: number } | null;
    twin: TwinPoint[];
    events: AuditEvent[];
  };
}

describe("serveDashboard inputs", () => {
  it("shows { engine } with units and an untuned twin", async () => {
    const clock = new ManualClock();
    const engine: Engine = createEngine({ seed: 1, params: KNOBS, window: { digests: 2 }, scheduler: clock });
    closers.push(() => engine.close());
    const twin = new Subject<TwinPoint>();
    const server = await serve({ engine, units: { objective: "ms", params: { x: "threads" } }, twin });
    twin.next({ time: 0, value: 7 });
    twin.next({ time: Number.NaN, value: 1 }); // dropped: not a point
    for (let i = 0; i < 4; i++) {
      engine.observe({ objective: 10, generation: engine.generation, timestamp: engine.now() });
      clock.advanceBy(1);
    }
    engine.flushEvents();
    const s = await state(server);
    expect(s.view).toMatchObject({ source: "live", units: { objective: "ms", params: { x: "threads" } } });
    expect(s.twin).toEqual([{ time: 0, value: 7 }]);
    expect(s.baseline).toEqual({ value: 10, windows: 1, generation: 0 });
  });

  it("shows { supervisor, name } and names a missing engine", async () => {
    const supervisor = createSupervisor();
    closers.push(() => supervisor.close());
    await expect(serveDashboard({ supervisor })).rejects.toThrow(/runs no engine yet/);
    supervisor.spawn("cache", { seed: 2, params: KNOBS });
    supervisor.spawn("pool", { seed: 3, params: KNOBS });
    const first = await serve({ supervisor });
    expect((await state(first)).view.title).toBe("cache");
    const second = await serve({ supervisor, name: "pool" });
    expect((await state(second)).view).toMatchObject({ title: "pool", source: "live", names: ["x"] });
    await expect(serveDashboard({ supervisor, name: "nope" })).rejects.toThrow(
      /"nope" is not a running engine of the supervisor \(running: cache, pool\)/,
    );
  });

  it("follows { supervisor, name } across a stop and a spawn under the same name", async () => {
    const supervisor = createSupervisor();
    closers.push(() => supervisor.close());
    const clock = new ManualClock();
    const config = { seed: 2, params: KNOBS, scheduler: clock };
    supervisor.spawn("b", config);
    const server = await serve({ supervisor, name: "b" });
    const halt = (reason: string) =>
      fetch(new URL("control/halt", server.url), {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ reason }),
      });
    await supervisor.stop("b");
    // Nothing runs under the name: no controls, and a control request is refused.
    const gone = (await (await fetch(new URL("state", server.url))).json()) as {
      controls: boolean;
      view: { mode: string; values: unknown };
    };
    expect(gone).toMatchObject({ controls: false, view: { mode: "unknown", values: null } });
    const refused = await halt("while stopped");
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toMatch(/the engine is closed/);

    const respawned = supervisor.spawn("b", config);
    // Its first events (its baseline, a halt at once) are delivered by its first drain, before
    // anything reads the page: the source attached inside the spawn, so none is lost.
    respawned.halt("at once");
    clock.advanceBy(1000);
    expect(
      (await state(server)).events
        .filter((e) => e.type === "command")
        .map((e) => (e as { note?: string }).note),
    ).toEqual(["at once"]);
    expect(respawned.resetSafeMode({ acknowledge: "test" })).toBe(true);
    const back = (await (await fetch(new URL("state", server.url))).json()) as {
      controls: boolean;
      view: { mode: string; values: unknown };
    };
    expect(back).toMatchObject({ controls: true, view: { mode: "normal", values: { x: 5 } } });
    expect((await halt("from the page")).status).toBe(200);
    expect(respawned.mode).toBe("halted");
    // The new engine's audit events reach the page, its own calls' as well as the page's.
    respawned.rollback("by the host");
    respawned.flushEvents();
    const notes = (await state(server)).events
      .filter((e) => e.type === "command")
      .map((e) => (e as { note?: string }).note);
    expect(notes).toEqual(["at once", "test", "from the page", "by the host"]);
  });

  it("shows { log } as a followed recording and stops following on close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-input-"));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "run.jsonl");
    const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", generation: 0, proposalId: -1 };
    writeFileSync(file, `${JSON.stringify({ ...base, seq: 1, time: 0, type: "baseline.set" })}\n`);
    const server = await serve({ log: file, units: { objective: "ms" } });
    const s = await state(server);
    expect(s.view).toMatchObject({ source: "recorded", units: { objective: "ms" } });
    expect(s.events.map((e) => e.seq)).toEqual([1]);
  });

  it("still takes a DashboardSource, and refuses an input of no known form, naming it", async () => {
    const clock = new ManualClock();
    const engine = createEngine({ seed: 1, params: KNOBS, scheduler: clock });
    closers.push(() => engine.close());
    const server = await serve(engineSource(engine, { title: "mine" }));
    expect((await state(server)).view.title).toBe("mine");
    await expect(serveDashboard({} as never)).rejects.toThrow(
      /expected \{ engine \}, \{ supervisor \}, \{ log \}/,
    );
    await expect(serveDashboard({ engine: {} } as never)).rejects.toThrow(/engine must be an arqon Engine/);
    await expect(serveDashboard({ log: "" })).rejects.toThrow(/log must be the path/);
  });
});

describe("recorded view", () => {
  const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", proposalId: -1 } as const;
  it("derives the SPSA phase, the iteration and the statechart states from the events", () => {
    const fold = new RecordedViewFold("rec");
    const add = (e: object) => fold.add(e as AuditEvent);
    add({ ...base, seq: 1, time: 0, generation: 0, type: "baseline.set" });
    expect(fold.view()).toMatchObject({ phase: "cycle.holding", iteration: 0, mode: "normal" });
    add({ ...base, seq: 2, time: 1, generation: 1, type: "apply", kind: "plus", values: { x: 1 } });
    expect(fold.view().statechart).toEqual({ spsa: "cycle.plus", safeMode: "normal" });
    add({ ...base, seq: 3, time: 2, generation: 2, type: "apply", kind: "minus", values: { x: 0 } });
    add({
      ...base,
      seq: 4,
      time: 3,
      generation: 2,
      type: "decision.step",
      iteration: 4,
      a: 1,
      c: 1,
      clipped: 0,
      step: {},
    });
    add({ ...base, seq: 5, time: 3, generation: 3, type: "apply", kind: "centre", values: { x: 0.5 } });
    add({
      ...base,
      seq: 6,
      time: 4,
      generation: 3,
      type: "mode.changed",
      from: "normal",
      to: "frozen",
      reasons: ["spike"],
    });
    expect(fold.view()).toMatchObject({
      phase: "paused", // the engine pauses the cycle in frozen and halted
      iteration: 5,
      mode: "frozen",
      statechart: { spsa: "paused", safeMode: "frozen" },
      values: { x: 0.5 },
    });
    add({
      ...base,
      seq: 6,
      time: 4,
      generation: 3,
      type: "mode.changed",
      from: "frozen",
      to: "normal",
      reasons: [],
    });
    expect(fold.view().phase).toBe("cycle.holding");
    add({
      ...base,
      seq: 7,
      time: 5,
      generation: 4,
      type: "rollback",
      reason: "manual",
      restoredGeneration: 0,
    });
    expect(fold.view().phase).toBe("cycle.holding");
    add({ ...base, seq: 8, time: 6, generation: 4, type: "spsa.stalled", iteration: 5, stalledFor: 3 });
    expect(fold.view().phase).toBe("stalled");
  });

  it("names the parameters of a baseline set elsewhere, but does not show its values as live", () => {
    // A fleet's new leader resumed at tuned values: its baseline.set carries the baseline's.
    const fold = new RecordedViewFold("rec");
    fold.add({
      ...base,
      seq: 1,
      time: 0,
      generation: 0,
      type: "baseline.set",
      values: { x: 16 },
    } as AuditEvent);
    expect(fold.view()).toMatchObject({ names: ["x"], values: null });
    fold.add({
      ...base,
      seq: 2,
      time: 1,
      generation: 1,
      type: "apply",
      kind: "plus",
      values: { x: 92 },
    } as AuditEvent);
    expect(fold.view().values).toEqual({ x: 92 });
  });

  it("says unknown, not a guess, for a recording that starts mid-run", () => {
    const fold = new RecordedViewFold("rec");
    fold.add({ ...base, seq: 40, time: 0, generation: 9, type: "baseline.set" } as AuditEvent);
    expect(fold.view()).toMatchObject({ phase: null, iteration: null, mode: "unknown", statechart: {} });
  });
});
