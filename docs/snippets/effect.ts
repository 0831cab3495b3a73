import { Engine } from "arqon";
import { Effect, Fiber, Stream } from "effect";
import { VirtualTimeScheduler } from "rxjs";

// The batch-size service of the engine guide: the cost per request (ms) at a batch size.
const measureCost = (batchSize: number, t: number) =>
  400 / batchSize + batchSize / 24 + 0.05 * Math.sin(t / 37);

// The engine keeps time with the RxJS scheduler it is given, not with Effect's Clock: virtual
// time here (a minute in a blink), the wall clock when `scheduler` is left out.
const scheduler = new VirtualTimeScheduler();

const program = Effect.scoped(
  Effect.gen(function* () {
    // Closed when the scope closes, with everything it started.
    const engine = yield* Engine.make({
      seed: 7,
      params: { batchSize: { min: 1, max: 512, init: 16, maxDelta: 16 } },
      spsa: { a: "auto" },
      window: { digests: 5, ms: 500 },
      scheduler,
    });
    // Subscribed now; the stream ends when the engine closes.
    const events = yield* Engine.eventStream(engine);
    const applies = yield* events.pipe(
      Stream.filter((event) => event.type === "apply"),
      Stream.runCount,
      Effect.fork,
    );

    // The service loop on the engine's clock: a digest every 20 ms for a minute.
    scheduler.schedule(function tick() {
      const now = engine.now();
      engine.observe({
        objective: measureCost(engine.value("batchSize"), now),
        generation: engine.generation,
      });
      scheduler.schedule(tick, 20);
    }, 20);
    scheduler.maxFrames = 60_000;
    scheduler.flush();

    const { values, iteration, mode } = engine.snapshot();
    yield* Effect.promise(() => engine.close()); // ends the stream
    const count = yield* Fiber.join(applies);
    return `batchSize ${values.batchSize.toFixed(1)} after ${iteration} SPSA steps, ${count} applies, mode ${mode}`;
  }),
);

console.log(await Effect.runPromise(program));
