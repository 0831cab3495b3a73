import { type Digest, type EngineNotification, fromEngine } from "arqon";
import { VirtualTimeScheduler } from "rxjs";
import { assign, createActor, sendTo, setup } from "xstate";

const scheduler = new VirtualTimeScheduler();
const params = { batchSize: { min: 1, max: 512, init: 64, maxDelta: 16 } };

// The parent declares what its engine child tells it, typed by the child's parameter names.
const host = setup({
  types: {
    context: {} as { applied: number[] },
    events: {} as EngineNotification<"batchSize"> | { type: "digest"; digest: Digest },
  },
  actors: {
    // Count-only windows of one digest: nothing waits on the virtual clock but the applies' pace.
    tuner: fromEngine(
      { seed: 1, params, window: { digests: 1 }, scheduler },
      { events: ["apply"], flush: true },
    ),
  },
}).createMachine({
  context: { applied: [] },
  invoke: { id: "tuner", src: "tuner" },
  on: {
    digest: { actions: sendTo("tuner", ({ event }) => ({ type: "observe", digest: event.digest })) },
    "engine.event": {
      actions: assign({
        // `values.batchsize` would not compile.
        applied: ({ context, event }) =>
          event.event.type === "apply" && event.event.values !== undefined
            ? [...context.applied, event.event.values.batchSize]
            : context.applied,
      }),
    },
  },
});

const actor = createActor(host).start();
for (let i = 0; i < 30; i++) {
  scheduler.schedule(() => {}, 100);
  scheduler.flush();
  // Each apply is a new generation: the digest of the live value carries the latest one.
  const { applied } = actor.getSnapshot().context;
  const batch = applied.at(-1) ?? 64;
  actor.send({
    type: "digest",
    digest: { objective: ((batch - 200) / 100) ** 2, generation: applied.length },
  });
}
console.log(`applies the parent heard of: ${actor.getSnapshot().context.applied.length}`);
actor.stop(); // stops the child, which closes its engine
