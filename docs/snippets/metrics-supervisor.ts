import { createSupervisor, type Engine, type EngineConfig } from "arqon";
import { createEngineMetrics, type EngineMetrics } from "arqon/metrics";
import { Registry } from "prom-client";
import { VirtualTimeScheduler } from "rxjs";

// One registry for every engine of a supervisor: each engine's metrics carry an `engine` label.
const registry = new Registry();
const supervisor = createSupervisor();
const scheduler = new VirtualTimeScheduler(); // virtual time: a minute runs in a blink
const metricsOf = new Map<string, EngineMetrics>();

function spawnTuned(name: string, config: EngineConfig): Engine {
  // Kept by name: an engine spawned again under its name goes on with the same counters.
  const metrics = metricsOf.get(name) ?? createEngineMetrics({ registry, labels: { engine: name } });
  metricsOf.set(name, metrics);
  const engine = supervisor.spawn(name, { ...config, scheduler, onApply: metrics.timeApply(() => {}) });
  metrics.attach(engine);
  return engine;
}

const config = {
  seed: 7,
  params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
  window: { digests: 5, ms: 500 },
};
spawnTuned("checkout", config);
spawnTuned("search", config);

// Each engine's service sends a digest every 20 ms, through its metrics.
scheduler.schedule(function tick() {
  for (const name of supervisor.names()) {
    const engine = supervisor.get(name)!;
    const batchSize = engine.values[0] ?? Number.NaN;
    const objective = 400 / batchSize + batchSize / 24;
    metricsOf.get(name)!.observe({ objective, generation: engine.generation, timestamp: engine.now() });
  }
  scheduler.schedule(tick, 20);
}, 20);
scheduler.maxFrames = 30_000;
scheduler.flush();

// "search" is stopped and spawned again: its counters go on from where they were.
const before = supervisor.get("search")!.snapshot().digests.accepted;
await supervisor.stop("search");
spawnTuned("search", config);
scheduler.maxFrames = 60_000;
scheduler.flush();
console.log(`search accepted ${before} digests before its restart`);

const shown = /^arqon_(generation|digests_accepted_total)\{/;
for (const line of (await registry.metrics()).split("\n")) if (shown.test(line)) console.log(line);
await supervisor.close();
