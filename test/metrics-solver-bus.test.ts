import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SAFE_MODE_REASON_NAMES } from "../machines/safe-mode-reasons.js";
import {
  type BusMetricsStats,
  type BusStats,
  registerBusMetrics,
  registerSolverMetrics,
} from "../src/metrics/index.js";
import { createSolver } from "../src/solver/solver.js";
import { scrape } from "./support/exposition.js";

describe("arqon/metrics: solver metrics", () => {
  it("follows asks, tells and the best value", async () => {
    const registry = new Registry();
    const solver = createSolver({ bounds: { x: { min: -5, max: 5 } }, budget: 12, seed: 4 });
    registerSolverMetrics(solver, { registry });
    let series = await scrape(registry);
    expect(series.get("arqon_solver_trials_asked_total")).toBe(0);
    expect(series.get("arqon_solver_budget")).toBe(12);
    expect(series.get("arqon_solver_best_value")).toBeNaN();
    const trials = solver.ask({ max: 3 }) ?? [];
    expect(trials).toHaveLength(3);
    solver.tell(trials.slice(0, 2).map((t) => ({ id: t.id, value: (t.params.x! - 1) ** 2 })));
    series = await scrape(registry);
    expect(series.get("arqon_solver_trials_asked_total")).toBe(3);
    expect(series.get("arqon_solver_trials_told_total")).toBe(2);
    expect(series.get("arqon_solver_best_value")).toBe(solver.best()!.value);
    solver.stop();
  });
});

describe("arqon/metrics: bus metrics", () => {
  it("copies busStats() at each scrape; a failing source keeps the last values and sets arqon_bus_up 0", async () => {
    const registry = new Registry();
    let stats: BusStats = {
      lag: 3,
      pending: 2,
      deadLetters: 1,
      rejectedCommands: 4,
      digestsProcessed: 900,
      replicas: 16,
      laggingReplicas: 1,
    };
    let failing = false;
    registerBusMetrics(
      {
        busStats: () => {
          if (failing) throw new Error("redis down");
          return stats;
        },
      },
      { registry },
    );
    let series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(1);
    expect(series.get("arqon_bus_lag")).toBe(3);
    expect(series.get("arqon_bus_pending")).toBe(2);
    expect(series.get("arqon_bus_dead_letters_total")).toBe(1);
    expect(series.get("arqon_bus_rejected_commands_total")).toBe(4);
    expect(series.get("arqon_bus_digests_processed_total")).toBe(900);
    expect(series.get("arqon_bus_replicas")).toBe(16);
    expect(series.get("arqon_bus_lagging_replicas")).toBe(1);
    // A source that does not say whether it leads, or whether the fleet is halted, exports neither.
    expect(series.has("arqon_bus_leader")).toBe(false);
    expect(series.has("arqon_bus_halted")).toBe(false);
    stats = { ...stats, leader: true, halted: false };
    series = await scrape(registry);
    expect(series.get("arqon_bus_leader")).toBe(1);
    expect(series.get("arqon_bus_halted")).toBe(0);
    stats = { ...stats, leader: false, halted: true };
    series = await scrape(registry);
    expect(series.get("arqon_bus_leader")).toBe(0);
    expect(series.get("arqon_bus_halted")).toBe(1);
    stats = { ...stats, lag: 0, digestsProcessed: 1200 };
    series = await scrape(registry);
    expect(series.get("arqon_bus_lag")).toBe(0);
    expect(series.get("arqon_bus_digests_processed_total")).toBe(1200);
    failing = true;
    series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(0);
    expect(series.get("arqon_bus_lag")).toBe(0);
    expect(series.get("arqon_bus_digests_processed_total")).toBe(1200);
    failing = false;
    stats = { ...stats, deadLetters: 2 };
    series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(1);
    expect(series.get("arqon_bus_dead_letters_total")).toBe(2);
    // A coordinator that cannot read Redis does not throw: it says its figures are stale, and
    // they are not taken (the last fresh ones stay).
    stats = { ...stats, stale: true, replicas: 0, deadLetters: 5, leader: true, halted: false };
    series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(0);
    expect(series.get("arqon_bus_dead_letters_total")).toBe(2);
    expect(series.get("arqon_bus_replicas")).toBe(16);
    // Leading and halted are the coordinator's own state: a stale view does not hold them back
    // (a leader cut off from Redis loses its lease and must stop saying it leads).
    expect(series.get("arqon_bus_leader")).toBe(1);
    expect(series.get("arqon_bus_halted")).toBe(0);
  });

  it("exports the reasons of the fleet's halt, every SafeMode reason at 0 or 1, when the source says them", async () => {
    const registry = new Registry();
    const base = {
      lag: 0,
      pending: 0,
      deadLetters: 0,
      rejectedCommands: 0,
      digestsProcessed: 0,
      replicas: 1,
      laggingReplicas: 0,
      leader: true,
    };
    let stats: BusMetricsStats = { ...base, halted: false };
    registerBusMetrics({ busStats: () => stats }, { registry });
    const reasons = async () =>
      [...(await scrape(registry))].filter(([name]) => name.startsWith("arqon_bus_halt_reason"));
    // A source that cannot tell why exports no reason: the rules then page for every halt.
    expect(await reasons()).toEqual([]);
    stats = { ...base, halted: false, haltReasons: [] };
    let series = new Map(await reasons());
    expect(series.size).toBe(SAFE_MODE_REASON_NAMES.length);
    expect([...series.values()].every((v) => v === 0)).toBe(true);
    // An operator's engine.halt on the leader.
    stats = { ...base, halted: true, haltReasons: ["manualHalt"] };
    series = new Map(await reasons());
    expect(series.get('arqon_bus_halt_reason{reason="manualHalt"}')).toBe(1);
    expect(series.get('arqon_bus_halt_reason{reason="repeatedTrips"}')).toBe(0);
    // SafeMode's own halt, seen by a standby whose view of Redis went stale: still reported.
    stats = { ...base, leader: false, halted: true, haltReasons: ["repeatedTrips"], stale: true };
    series = new Map(await reasons());
    expect(series.get('arqon_bus_halt_reason{reason="manualHalt"}')).toBe(0);
    expect(series.get('arqon_bus_halt_reason{reason="repeatedTrips"}')).toBe(1);
    // Reasons of a fleet that is not halted (any more) are not in force; unknown names are ignored.
    stats = { ...base, halted: false, haltReasons: ["repeatedTrips", "noSuchReason"] };
    series = new Map(await reasons());
    expect(series.size).toBe(SAFE_MODE_REASON_NAMES.length);
    expect([...series.values()].every((v) => v === 0)).toBe(true);
  });

  it("exports publish failures, command stream resets and a params mismatch when the source says them", async () => {
    const registry = new Registry();
    const base: BusStats = {
      lag: 0,
      pending: 0,
      deadLetters: 0,
      rejectedCommands: 0,
      digestsProcessed: 0,
      replicas: 1,
      laggingReplicas: 0,
    };
    let stats: BusStats = base;
    registerBusMetrics({ busStats: () => stats }, { registry });
    // A source that cannot tell exports none of them (not a 0 it does not know).
    let series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(1);
    expect(series.has("arqon_bus_publish_failures_total")).toBe(false);
    expect(series.has("arqon_bus_command_stream_resets_total")).toBe(false);
    expect(series.has("arqon_bus_params_mismatch")).toBe(false);
    stats = { ...base, publishFailures: 0, commandStreamResets: 0, paramsMismatch: false };
    series = await scrape(registry);
    expect(series.get("arqon_bus_publish_failures_total")).toBe(0);
    expect(series.get("arqon_bus_command_stream_resets_total")).toBe(0);
    expect(series.get("arqon_bus_params_mismatch")).toBe(0);
    stats = { ...base, publishFailures: 2, commandStreamResets: 1, paramsMismatch: true };
    series = await scrape(registry);
    expect(series.get("arqon_bus_publish_failures_total")).toBe(2);
    expect(series.get("arqon_bus_command_stream_resets_total")).toBe(1);
    expect(series.get("arqon_bus_params_mismatch")).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain("# TYPE arqon_bus_publish_failures_total counter");
    expect(text).toContain("# TYPE arqon_bus_command_stream_resets_total counter");
    expect(text).toContain("# TYPE arqon_bus_params_mismatch gauge");
    // Stale figures: the totals keep their last fresh values, as the other totals do; the refusal
    // to lead is the coordinator's own state, and follows its latest figures, as leading does.
    stats = { ...base, publishFailures: 5, commandStreamResets: 3, paramsMismatch: false, stale: true };
    series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(0);
    expect(series.get("arqon_bus_publish_failures_total")).toBe(2);
    expect(series.get("arqon_bus_command_stream_resets_total")).toBe(1);
    expect(series.get("arqon_bus_params_mismatch")).toBe(0);
  });

  it("exports no bus series while busStats() has only returned stale figures, its own state included", async () => {
    const registry = new Registry();
    let stale = true;
    registerBusMetrics(
      {
        // A standby that never reached Redis: it does not know whether the fleet is halted.
        busStats: () => ({
          lag: 1,
          pending: 2,
          deadLetters: 0,
          rejectedCommands: 0,
          digestsProcessed: 0,
          replicas: stale ? 0 : 3,
          laggingReplicas: 0,
          leader: false,
          halted: !stale,
          paramsMismatch: false,
          haltReasons: stale ? [] : ["repeatedTrips"],
          stale,
        }),
      },
      { registry },
    );
    expect([...(await scrape(registry))]).toEqual([["arqon_bus_up", 0]]);
    stale = false;
    const series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(1);
    expect(series.get("arqon_bus_replicas")).toBe(3);
    expect(series.get("arqon_bus_halted")).toBe(1);
    expect(series.get("arqon_bus_leader")).toBe(0);
    expect(series.get("arqon_bus_params_mismatch")).toBe(0);
    expect(series.get('arqon_bus_halt_reason{reason="repeatedTrips"}')).toBe(1);
  });

  it("shows only arqon_bus_up 0 while busStats() has never succeeded, and reads it once per scrape", async () => {
    const registry = new Registry();
    let calls = 0;
    let failing = true;
    registerBusMetrics(
      {
        busStats: () => {
          calls++;
          if (failing) throw new Error("redis down");
          return {
            lag: 5,
            pending: 0,
            deadLetters: 0,
            rejectedCommands: 0,
            digestsProcessed: 7,
            replicas: 2,
            laggingReplicas: 0,
          };
        },
      },
      { registry },
    );
    let series = await scrape(registry);
    expect([...series]).toEqual([["arqon_bus_up", 0]]);
    expect(calls).toBe(1);
    failing = false;
    series = await scrape(registry);
    expect(series.get("arqon_bus_up")).toBe(1);
    expect(series.get("arqon_bus_lag")).toBe(5);
    expect(series.get("arqon_bus_digests_processed_total")).toBe(7);
    expect(calls).toBe(2);
    // Two scrapes in one tick each read the source.
    const first = registry.metrics();
    const second = registry.metrics();
    await Promise.all([first, second]);
    expect(calls).toBe(4);
  });
});
