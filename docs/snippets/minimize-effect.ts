import { minimizeEffect } from "arqon";
import { Context, Data, Effect, Layer } from "effect";

class Overloaded extends Data.TaggedError("Overloaded")<{ readonly poolSize: number }> {}

// The service the objective needs: here a stand-in load test of a cluster, giving the p99 latency
// in ms for a pool size, and failing with a typed error when the pool is too small to keep up.
class Cluster extends Context.Tag("Cluster")<
  Cluster,
  { readonly loadTest: (poolSize: number) => Effect.Effect<number, Overloaded> }
>() {}

const simulatedCluster = Layer.succeed(Cluster, {
  loadTest: (poolSize) =>
    poolSize < 6
      ? Effect.fail(new Overloaded({ poolSize }))
      : Effect.as(Effect.sleep("1 millis"), 40 + (poolSize - 24) ** 2 / 8),
});

const program = minimizeEffect(
  ({ poolSize }) => Effect.flatMap(Cluster, (cluster) => cluster.loadTest(poolSize)),
  { seed: 1, budget: 40, bounds: { poolSize: { type: "int", min: 1, max: 64 } } },
  { concurrency: 4, onError: "skip" },
);

const { best, evaluations, failures } = await Effect.runPromise(Effect.provide(program, simulatedCluster));
// The failures' errors are typed: Overloaded, or an Error (a defect, a non-finite value).
const overloaded = failures.filter(({ error }) => error instanceof Overloaded).length;
console.log(`${evaluations} evaluations, ${failures.length} failed (${overloaded} overloaded)`);
console.log(`best p99 ${best?.value.toFixed(2)} ms with`, best?.params);
