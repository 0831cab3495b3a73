import { createEngine } from "arqon";
import { VirtualTimeScheduler } from "rxjs";

const engine = createEngine({
  seed: 3,
  params: { poolSize: { min: 2, max: 64, init: 16, maxDelta: 4 } },
  scheduler: new VirtualTimeScheduler(),
});

engine.events.subscribe((event) => {
  if (event.type !== "mode.changed") return;
  const reasons = event.reasons.join(", ") || "no reasons";
  console.log(`mode ${event.from} -> ${event.to} (${reasons}): ${event.note ?? ""}`);
});

// An operator stops adaptation, e.g. during a database failover.
// Nothing is applied from here on.
engine.halt("database failover in progress");
console.log("mode now:", engine.mode);

// Leaving `halted` takes an acknowledgement: who, and why it is safe again.
const blank = engine.resetSafeMode({ acknowledge: "  " });
console.log("blank acknowledgement accepted?", blank);
const reset = engine.resetSafeMode({ acknowledge: "ops (alice): failover done" });
console.log("acknowledged reset accepted?", reset);
console.log("mode now:", engine.mode);

engine.flushEvents(); // deliver the audit events now rather than on the scheduler
await engine.close();
