import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineConfig } from "arqon";
import { createLoggedEngine } from "arqon/node";
import { VirtualTimeScheduler } from "rxjs";

const dir = join(mkdtempSync(join(tmpdir(), "arqon-guide-")), "decisions");

/** One process's life: start on the log, serve `ticks` requests, stop (a deploy). */
async function serve(ticks: number): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const config: EngineConfig<"batchSize"> = {
    seed: 5,
    params: { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } },
    window: { digests: 5 },
    scheduler,
  };
  // Start where the log's last run left the tuning (from the config on the first start).
  const { engine, close } = createLoggedEngine(config, { dir, resume: true });
  const from = engine.values[0]!;
  for (let tick = 1; tick <= ticks; tick++) {
    scheduler.schedule(() => {}, 10);
    scheduler.flush();
    const cost = 20 + ((engine.values[0]! - 96) / 40) ** 2; // lowest at a batch size of 96
    engine.observe({ objective: cost, generation: engine.generation });
  }
  const { centre, baseline } = engine.snapshot();
  console.log(
    `started at ${from.toFixed(1)}, tuned to ${centre.batchSize.toFixed(1)}, baseline ${baseline.batchSize}`,
  );
  await close();
}

await serve(300); // the first process
await serve(300); // after a deploy: carries on from where the first one stopped
rmSync(join(dir, ".."), { recursive: true, force: true });
