import { createEngine } from "arqon";
import { createEngineMetrics } from "arqon/metrics";
import { Registry } from "prom-client";
import { VirtualTimeScheduler } from "rxjs";

// Serve `await registry.metrics()` at GET /metrics (examples/metrics/metrics-server.ts does it
// with node:http). Several engines on one registry: see metrics-supervisor.ts.
const registry = new Registry();
const metrics = createEngineMetrics({ registry });

const scheduler = new VirtualTimeScheduler(); // virtual time: a minute runs in a blink
const engine = createEngine({
  seed: 7,
  params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
  window: { digests: 5, ms: 500 },
  scheduler,
  // The actuator pushes the live values to the service; timing it fills arqon_t1_apply_seconds.
  onApply: metrics.timeApply((values) => {
    void values[0]; // e.g. workers.setBatchSize(values[0])
  }),
});
metrics.attach(engine); // right after createEngine: engine.events is a hot stream

scheduler.schedule(function tick() {
  const now = engine.now();
  const batchSize = engine.values[0] ?? Number.NaN;
  const objective = 400 / batchSize + batchSize / 24;
  // engine.observe, timed into arqon_t2_decide_seconds or arqon_digest_ingest_seconds.
  metrics.observe({ objective, generation: engine.generation, timestamp: now });
  scheduler.schedule(tick, 20);
}, 20);
scheduler.maxFrames = 60_000;
scheduler.flush();

const scrape = await registry.metrics();
const shown = /^arqon_(generation|digests_accepted_total|applies_total\{kind="plus"\}|safe_mode_level) /;
for (const line of scrape.split("\n")) if (shown.test(line)) console.log(line);
await engine.close();
