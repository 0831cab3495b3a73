import { createSupervisor, type EngineConfig, type EngineMonitor, monitorEngine } from "arqon";
import { VirtualTimeScheduler } from "rxjs";

// One supervisor, one engine per service, all on one virtual clock: a minute runs in a blink.
const scheduler = new VirtualTimeScheduler();
const seeds: Record<string, number> = { checkout: 1, search: 2, images: 3 };
const configOf = (name: string): EngineConfig => ({
  seed: seeds[name]!,
  params: { poolSize: { min: 2, max: 64, init: 16, maxDelta: 4 } },
  window: { digests: 5, ms: 500 },
  scheduler,
});

const restarts = new Map<string, number[]>();
const supervisor = createSupervisor({
  // A failed engine is closed and gone; a new one starts in `normal`, so carry a halt over.
  onFailure: (name, error, failed) => {
    // Restarting is the host's call: here at most 3 in 10 minutes, as an engine that fails at
    // once would otherwise be restarted as fast as it fails. Its error stays in failure(name).
    const now = scheduler.now();
    const recent = (restarts.get(name) ?? []).filter((at) => now - at < 600_000);
    if (recent.length >= 3) {
      console.warn(`${name} failed again (${String(error)}): not restarted`);
      return;
    }
    restarts.set(name, [...recent, now]);
    const engine = supervisor.spawn(name, configOf(name));
    if (failed.mode === "halted") engine.halt(`restarted after a failure: ${String(error)}`);
  },
});

// Called inside each spawn, before the engine's first event: a subscriber here misses nothing.
// `config` is the one `spawn` got, which the independent safety monitor checks the engine against.
const applies = new Map<string, number>();
const monitors = new Map<string, EngineMonitor>();
supervisor.onSpawn((name, engine, config) => {
  monitors.set(name, monitorEngine(engine, config));
  engine.events.subscribe((event) => {
    if (event.type === "apply") applies.set(name, (applies.get(name) ?? 0) + 1);
  });
});

// Three services whose best pool size differs.
const best: Record<string, number> = { checkout: 24, search: 40, images: 12 };
for (const name of Object.keys(best)) supervisor.spawn(name, configOf(name));

// Each service sends a digest every 20 ms for a minute; "images" is halted half-way.
scheduler.schedule(function tick() {
  if (scheduler.now() === 30_000) supervisor.send("images", { type: "halt", reason: "CDN migration" });
  for (const name of supervisor.names()) {
    const engine = supervisor.get(name)!;
    const poolSize = engine.values[0]!;
    const objective = 1 + ((poolSize - best[name]!) / 8) ** 2;
    supervisor.send(name, {
      type: "observe",
      digest: { objective, generation: engine.generation, timestamp: engine.now() },
    });
  }
  scheduler.schedule(tick, 20);
}, 20);
scheduler.maxFrames = 60_000; // a minute of virtual time
scheduler.flush();

for (const name of supervisor.names()) {
  const engine = supervisor.get(name)!;
  const poolSize = engine.values[0]!.toFixed(1);
  const { events, violations } = monitors.get(name)!.report();
  console.log(
    `${name}: poolSize ${poolSize} (best ${best[name]}), ${applies.get(name)} applies, mode ${engine.mode}; ` +
      `monitor: ${violations.length} violations in ${events} events`,
  );
}
await supervisor.close();
