import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLoggedEngine, explain, renderExplanation, replay } from "arqon/node";
import { VirtualTimeScheduler } from "rxjs";

const dir = join(mkdtempSync(join(tmpdir(), "arqon-guide-")), "decisions");
const scheduler = new VirtualTimeScheduler();

// The engine records every digest, window, gradient step, apply, refusal and mode change, and
// makes each control command durable before it acts.
const { engine, close } = createLoggedEngine(
  {
    seed: 5,
    params: { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } },
    // Count-only windows: with a time limit a timer is always pending, and flush() would not end.
    window: { digests: 5 },
    scheduler,
  },
  { dir, flushMs: 50 },
);

// A simulated service whose cost is lowest at a batch size of 96.
for (let tick = 1; tick <= 2000; tick++) {
  scheduler.schedule(() => {}, 10);
  scheduler.flush();
  const cost = 20 + ((engine.values[0]! - 96) / 40) ** 2;
  engine.observe({ objective: cost, generation: engine.generation });
}
const tuned = engine.generation; // the last generation SPSA applied
engine.rollback("checking the baseline after a deploy");
await close();

// Later, or on another machine: rebuild the engine from the log and check every decision.
const result = await replay(dir);
console.log(result.ok ? `replay OK: ${result.records} records identical` : "replay diverged");

// Why did the live values become generation `tuned`? (windows, gradient, checks, values)
console.log(renderExplanation(explain(dir, tuned)).split("\n")[0]);
rmSync(join(dir, ".."), { recursive: true, force: true });
