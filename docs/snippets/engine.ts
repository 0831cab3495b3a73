import { createEngine } from "arqon";
import { VirtualTimeScheduler } from "rxjs";

// Stand-in for a real service: the cost per request (ms) at a given batch size.
// A fixed cost per batch is shared by its requests; waiting for a batch to fill
// grows with its size. The best batch size is near 98.
function measureCost(batchSize: number, t: number): number {
  return 400 / batchSize + batchSize / 24 + 0.05 * Math.sin(t / 37);
}

// Virtual time, so a minute of tuning runs in a blink.
// In a service, leave `scheduler` out: the engine then uses the wall clock.
const scheduler = new VirtualTimeScheduler();

const engine = createEngine({
  seed: 7,
  params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
  spsa: { a: "auto" }, // calibrates the step gain to the objective's scale
  window: { digests: 5, ms: 500 }, // decide every 5 digests, or after 500 ms
  guardrails: "balanced",
  scheduler,
});

let applies = 0;
engine.events.subscribe((event) => {
  if (event.type === "apply") applies++;
});

// The service loop: a digest every 20 ms, measured with the live value and
// stamped with the generation it was measured under. Each tick is scheduled
// anew on `scheduler` (not `this.schedule`): on a VirtualTimeScheduler, an
// action that reschedules itself keeps every earlier one in memory.
scheduler.schedule(function tick() {
  const now = engine.now();
  const batchSize = engine.value("batchSize"); // typed: a misspelt name does not compile
  const objective = measureCost(batchSize, now);
  engine.observe({ objective, generation: engine.generation, timestamp: now });
  scheduler.schedule(tick, 20);
}, 20);
scheduler.maxFrames = 60_000; // run the first minute
scheduler.flush();

const { values, iteration, mode } = engine.snapshot();
const batchSize = values.batchSize.toFixed(1);
const summary = `${iteration} SPSA steps, ${applies} applies, mode ${mode}`;
console.log(`batchSize ${batchSize} after ${summary}`);
await engine.close();
