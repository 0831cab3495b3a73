/**
 * Child process for test/engine-close.test.ts: creates an engine on the real clock (the default
 * `asyncScheduler`) with timed windows, so real timers exist, feeds it a few digests, and then —
 * with the argument "close" — awaits `engine.close()`. It never calls `process.exit`: the
 * process ends by itself only if nothing the engine started is left holding the event loop.
 *
 * Prints "ready" once the engine has work in flight, and "closed" after `close()` resolved.
 */
import { createEngine } from "../../src/engine/engine.js";

const mode = process.argv[2];
if (mode !== "close" && mode !== "leave-open")
  throw new Error(`usage: engine-close-child.ts close|leave-open`);

const engine = createEngine({
  seed: 5,
  params: { x: { min: 0, max: 10, init: 5 }, y: { min: 1, max: 100, scale: "log" } },
  window: { digests: 3, ms: 200 },
});
engine.events.subscribe(() => {});
for (let i = 0; i < 7; i++) {
  engine.observe({ objective: (engine.values[0]! - 3) ** 2 + i * 0.01, generation: engine.generation });
}
// A rejected digest leaves an audit delivery scheduled, and an apply paced for later.
engine.observe({ objective: Number.NaN, generation: engine.generation });
process.stdout.write(`ready ${engine.generation}\n`);

if (mode === "close") {
  await engine.close();
  process.stdout.write("closed\n");
}
