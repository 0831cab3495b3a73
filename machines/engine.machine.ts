import { setup } from "xstate";
import { hotPathPlaceholder } from "./hot-path.logic.js";
import { spsaMachine } from "./spsa.machine.js";

/**
 * The root of an engine's actor system: it owns the SPSA cycle (`systemId: "spsa"`) and the
 * hot-path actor (`systemId: "hotPath"`), so one inspector sees both and stopping the root stops
 * everything.
 *
 * @remarks
 * A pure definition: the engine provides the real hot-path logic and the SPSA actions with
 * `engineMachine.provide({ actors: { … } })`.
 */
export const engineMachine = setup({
  types: {
    input: {} as { readonly stallAfter: number },
    context: {} as { readonly stallAfter: number },
  },
  actors: {
    spsa: spsaMachine,
    hotPath: hotPathPlaceholder,
  },
}).createMachine({
  id: "engine",
  context: ({ input }) => ({ stallAfter: input.stallAfter }),
  invoke: [
    { src: "hotPath", id: "hotPath", systemId: "hotPath" },
    {
      src: "spsa",
      id: "spsa",
      systemId: "spsa",
      input: ({ context }) => ({ stallAfter: context.stallAfter }),
    },
  ],
});
