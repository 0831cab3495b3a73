/**
 * Engine metrics given something other than an engine to attach: refused naming the argument, with
 * nothing changed, so that the engine attached next is read and every scrape still works.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createEngine } from "../src/engine/engine.js";
import { createLoggedEngine } from "../src/log/engine-log.js";
import { createEngineMetrics } from "../src/metrics/index.js";
import { ManualClock } from "./support/engine-clock.js";
import { scrape } from "./support/exposition.js";
import { tempLogDirs } from "./support/log-dir.js";
import { thrown } from "./support/thrown.js";

const CONFIG = { seed: 4, params: { x: { min: 0, max: 10, init: 5 } } } as const;
const logDir = tempLogDirs();

describe("engine metrics: attach refuses what is not an engine", () => {
  it("what createLoggedEngine returns is refused naming its .engine, and the real engine attaches after", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const logged = createLoggedEngine({ ...CONFIG, scheduler: new ManualClock() }, { dir: logDir() });
    try {
      const error = thrown(() => metrics.attach(logged as never));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe(
        "attach: engine: must be the engine itself, got an object holding one (createLoggedEngine returns { engine, log, … }): pass its .engine",
      );
      // Nothing changed: not attached, and a scrape works and shows no engine.
      expect(metrics.engine).toBeUndefined();
      expect((await scrape(registry)).size).toBe(0);
      // Before, this was refused as a second engine, and every scrape threw.
      metrics.attach(logged.engine);
      expect(metrics.engine).toBe(logged.engine);
      const series = await scrape(registry);
      expect(series.get("arqon_generation")).toBe(logged.engine.generation);
      expect(series.get('arqon_param_value{param="x"}')).toBe(5);
    } finally {
      await logged.close();
    }
  });

  it.each<[string, unknown, string]>([
    ["undefined", undefined, "got undefined"],
    ["null", null, "got null"],
    ["a string", "engine", 'got "engine"'],
    ["an object without events", { snapshot: () => ({}) }, "got an object"],
    ["a promise", Promise.resolve(), "got an object"],
  ])("%s is refused naming the argument, and the metrics stay free", async (_, value, shown) => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const error = thrown(() => metrics.attach(value as never));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(
      `attach: engine: must be an engine from createEngine (with events, snapshot() and observe()), ${shown}`,
    );
    expect(metrics.engine).toBeUndefined();
    expect((await scrape(registry)).size).toBe(0);
    const engine = createEngine({ ...CONFIG, scheduler: new ManualClock() });
    metrics.attach(engine);
    expect((await scrape(registry)).get("arqon_generation")).toBe(0);
    await engine.close();
  });

  it("an engine whose events refuse the subscription leaves the metrics as they were", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({ ...CONFIG, scheduler: new ManualClock() });
    const refusing = new Proxy(engine, {
      get: (target, key) =>
        key === "events"
          ? {
              subscribe: () => {
                throw new Error("no subscription");
              },
            }
          : Reflect.get(target, key, target),
    });
    expect(() => metrics.attach(refusing)).toThrow("no subscription");
    expect(metrics.engine).toBeUndefined();
    expect((await scrape(registry)).size).toBe(0);
    metrics.attach(engine);
    expect((await scrape(registry)).get("arqon_generation")).toBe(0);
    await engine.close();
  });
});
