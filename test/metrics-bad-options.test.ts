import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type BusStats,
  createEngineMetrics,
  registerBusMetrics,
  registerSolverMetrics,
} from "../src/metrics/index.js";
import { thrown } from "./support/thrown.js";

const STATS: BusStats = {
  lag: 0,
  pending: 0,
  replicas: 0,
  laggingReplicas: 0,
  deadLetters: 0,
  rejectedCommands: 0,
  digestsProcessed: 0,
};
const busSource = { busStats: () => STATS };
const solverSource = { asked: 0, told: 0, best: () => null, config: { budget: 10 } };

const names = (registry: Registry) => registry.getMetricsAsArray().map((m) => m.name);

/** A registry whose `registerMetric` fails on its `failAt`-th call (a failure the name checks cannot see). */
class FailingRegistry extends Registry {
  private calls = 0;
  constructor(private readonly failAt: number) {
    super();
  }
  override registerMetric(metric: Parameters<Registry["registerMetric"]>[0]): void {
    if (++this.calls === this.failAt) throw new Error("registry refused");
    super.registerMetric(metric);
  }
}

describe("arqon/metrics: bad options are refused before anything is registered", () => {
  it("createEngineMetrics: descending latencyBuckets name the option and the value, and register nothing", () => {
    const registry = new Registry();
    const error = thrown(() => createEngineMetrics({ registry, latencyBuckets: [0.001, 0.0005] }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/^createEngineMetrics: latencyBuckets\[1\]: /);
    expect(error.message).toContain("0.0005");
    expect(error.message).not.toMatch(/\bbuckets:/);
    expect(names(registry)).toEqual([]);
    // A retry with valid options works on the same registry.
    createEngineMetrics({ registry });
    expect(names(registry)).toContain("arqon_digests_accepted_total");
  });

  it("a misspelt option is named with the known ones, for each registration", () => {
    const registry = new Registry();
    const engine = thrown(() => createEngineMetrics({ registry, lables: { app: "x" } } as never));
    expect(engine.message).toBe(
      "createEngineMetrics: lables: unknown option (did you mean labels? known: registry, prefix, clock, latencyBuckets, labels)",
    );
    expect(thrown(() => registerBusMetrics(busSource, { registry, prefx: "a_" } as never)).message).toBe(
      "registerBusMetrics: prefx: unknown option (did you mean prefix? known: registry, prefix)",
    );
    expect(thrown(() => registerSolverMetrics(solverSource, { registry, labels: {} } as never)).message).toBe(
      "registerSolverMetrics: labels: unknown option (known: registry, prefix)",
    );
    expect(names(registry)).toEqual([]);
  });

  it("createEngineMetrics: every bad bucket bound, a non-array, a bad clock and a bad registry are named", () => {
    const registry = new Registry();
    for (const [latencyBuckets, shown] of [
      [[Number.NaN], "latencyBuckets[0]: must be a finite number > 0, got NaN"],
      [[0], "latencyBuckets[0]: must be a finite number > 0, got 0"],
      [[1e-6, Number.POSITIVE_INFINITY], "latencyBuckets[1]: must be a finite number > 0, got Infinity"],
      [[1e-6, "2e-6"], 'latencyBuckets[1]: must be a finite number > 0, got "2e-6"'],
      [[1e-6, 1e-6], "latencyBuckets[1]: must be greater than latencyBuckets[0] (0.000001), got 0.000001"],
      [0.001, "latencyBuckets: must be an array of bucket bounds in seconds, got 0.001"],
      // +Inf alone: no quantile of it is finite, so no latency alert could fire.
      [[], "latencyBuckets: must hold at least one bound (seconds)"],
    ] as const) {
      const error = thrown(() =>
        createEngineMetrics({ registry, latencyBuckets: latencyBuckets as unknown as number[] }),
      );
      expect(error.message).toContain(shown);
    }
    expect(
      thrown(() => createEngineMetrics({ registry, clock: 5 as unknown as () => number })).message,
    ).toContain("clock: must be a function returning milliseconds, got 5");
    expect(
      thrown(() => createEngineMetrics({ registry: undefined as unknown as Registry })).message,
    ).toContain("registry: must be a prom-client Registry, got undefined");
    expect(thrown(() => createEngineMetrics(undefined as never)).message).toContain(
      "createEngineMetrics: options: must be an object with a registry, got undefined",
    );
    // Every problem at once.
    const both = thrown(() => createEngineMetrics({ registry, prefix: "x-", latencyBuckets: [-1] })).message;
    expect(both).toContain("prefix: ");
    expect(both).toContain("latencyBuckets[0]: ");
    expect(names(registry)).toEqual([]);
  });

  it("createEngineMetrics: an invalid prefix names the option and the value", () => {
    const registry = new Registry();
    const error = thrown(() => createEngineMetrics({ registry, prefix: "my-app_" }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toMatch(/^createEngineMetrics: prefix: /);
    expect(error.message).toContain('got "my-app_"');
    expect(thrown(() => createEngineMetrics({ registry, prefix: 3 as unknown as string })).message).toContain(
      "prefix: must be a string",
    );
    expect(names(registry)).toEqual([]);
    // The empty prefix makes valid names; so does one with a colon.
    createEngineMetrics({ registry: new Registry(), prefix: "" });
    createEngineMetrics({ registry: new Registry(), prefix: "my_app:" });
  });

  it("createEngineMetrics: a name the registry already holds leaves the registry as it was", () => {
    const registry = new Registry();
    new Gauge({ name: "arqon_generation", help: "someone else's", registers: [registry] });
    const error = thrown(() => createEngineMetrics({ registry }));
    expect(error.message).toMatch(/already been registered/);
    expect(error.message).toContain("arqon_generation");
    expect(names(registry)).toEqual(["arqon_generation"]);
  });

  it("createEngineMetrics: a registration failing midway removes what this call registered", () => {
    const registry = new FailingRegistry(8);
    expect(() => createEngineMetrics({ registry })).toThrow("registry refused");
    expect(names(registry)).toEqual([]);
  });

  it("registerSolverMetrics: bad options and a taken name register nothing", () => {
    const registry = new Registry();
    const prefix = thrown(() => registerSolverMetrics(solverSource, { registry, prefix: "a b" }));
    expect(prefix).toBeInstanceOf(RangeError);
    expect(prefix.message).toBe(
      'registerSolverMetrics: prefix: must be letters, digits, _ or : and not start with a digit, got "a b"',
    );
    expect(
      thrown(() => registerSolverMetrics(solverSource, { registry: {} as unknown as Registry })).message,
    ).toContain("registry: must be a prom-client Registry, got an object");
    expect(thrown(() => registerSolverMetrics({} as never, { registry })).message).toContain(
      "source: must be a solver or shared study (asked, told, best(), config.budget), got an object",
    );
    expect(names(registry)).toEqual([]);

    new Gauge({ name: "arqon_solver_budget", help: "taken", registers: [registry] });
    expect(() => registerSolverMetrics(solverSource, { registry })).toThrow(
      /arqon_solver_budget.*already been registered/,
    );
    expect(names(registry)).toEqual(["arqon_solver_budget"]);

    const failing = new FailingRegistry(3);
    expect(() => registerSolverMetrics(solverSource, { registry: failing })).toThrow("registry refused");
    expect(names(failing)).toEqual([]);
  });

  it("registerBusMetrics: bad options and a taken name register nothing", () => {
    const registry = new Registry();
    const prefix = thrown(() => registerBusMetrics(busSource, { registry, prefix: "a b" }));
    expect(prefix).toBeInstanceOf(RangeError);
    expect(prefix.message).toContain("registerBusMetrics: prefix: must be letters, digits, _ or :");
    expect(prefix.message).toContain('got "a b"');
    expect(thrown(() => registerBusMetrics({} as never, { registry })).message).toContain(
      "registerBusMetrics: source: must have a busStats() method, got an object",
    );
    expect(names(registry)).toEqual([]);

    new Gauge({ name: "arqon_bus_lag", help: "taken", registers: [registry] });
    expect(() => registerBusMetrics(busSource, { registry })).toThrow(
      /arqon_bus_lag.*already been registered/,
    );
    expect(names(registry)).toEqual(["arqon_bus_lag"]);

    const failing = new FailingRegistry(4);
    expect(() => registerBusMetrics(busSource, { registry: failing })).toThrow("registry refused");
    expect(names(failing)).toEqual([]);
  });
});
