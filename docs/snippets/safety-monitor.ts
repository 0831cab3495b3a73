import {
  type AuditEvent,
  checkTrailOffline,
  createEngine,
  type EngineConfig,
  monitorEngine,
  safetySpecOf,
} from "arqon";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";

// Virtual time, 200 s of it: the engine's own timers keep rescheduling, so the flush needs an end.
const scheduler = new VirtualTimeScheduler(VirtualAction, 200_000);
const config: EngineConfig = {
  seed: 5,
  params: { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } },
  scheduler,
};
const engine = createEngine(config);

// Watch every audit event; the first violation would halt the engine and land here.
const watch = monitorEngine(engine, config, {
  onViolation: (v) => console.log(`VIOLATION ${v.property} at seq ${v.witness.toSeq}: ${v.message}`),
});
const trail: AuditEvent[] = [];
engine.events.subscribe((event) => trail.push(event));

// A service whose cost is lowest near a batch size of 96, measured every 100 ms.
for (let tick = 0; tick < 2000; tick++) {
  scheduler.schedule(() => {
    const batchSize = engine.values[0]!;
    engine.observe({ objective: ((batchSize - 96) / 32) ** 2 + 1, generation: engine.generation });
  }, tick * 100);
}
scheduler.flush();
engine.flushEvents();

const report = watch.report();
console.log(`checked ${report.events} events: ${report.violations.length} violations`);
const offline = checkTrailOffline(safetySpecOf(config), trail);
console.log(`offline check: ${Object.keys(offline).length} properties violated`);
console.log(`batchSize ${engine.values[0]!.toFixed(0)}, mode ${engine.mode}`);
await engine.close();
