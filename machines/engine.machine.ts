import { setup } from "xstate";
import { hotPathPlaceholder } from "./hot-path.logic.js";
import { resolveSafeModeOptions, type SafeModeOptions, safeModeMachine } from "./safe-mode.machine.js";
import { resolveSpsaMachineInput, spsaMachine } from "./spsa.machine.js";

/**
 * The root of an engine's actor system: it owns the SPSA cycle (`systemId: "spsa"`), the
 * hot-path actor (`systemId: "hotPath"`) and the SafeMode latches (`systemId: "safeMode"`), so one
 * inspector sees all three and stopping the root stops everything.
 *
 * @remarks
 * A pure definition: the engine provides the real hot-path logic and the SPSA actions with
 * `engineMachine.provide({ actors: { … } })`.
 */
export const engineMachine = setup({
  types: {
    input: {} as { readonly stallAfter: number; readonly safeMode?: SafeModeOptions },
    context: {} as { readonly stallAfter: number; readonly safeMode?: SafeModeOptions },
  },
  actors: {
    spsa: spsaMachine,
    safeMode: safeModeMachine,
    hotPath: hotPathPlaceholder,
  },
}).createMachine({
  id: "engine",
  context: ({ input }) => {
    const { stallAfter } = resolveSpsaMachineInput(input, "engine chart", ["safeMode"]);
    // Checked here, not only by the SafeMode chart: `null` must not pass for "all defaults".
    try {
      resolveSafeModeOptions(input.safeMode);
    } catch (error) {
      throw new RangeError(`invalid engine chart input: safeMode: ${(error as Error).message}`);
    }
    return { stallAfter, ...(input.safeMode === undefined ? {} : { safeMode: input.safeMode }) };
  },
  invoke: [
    { src: "hotPath", id: "hotPath", systemId: "hotPath" },
    {
      src: "spsa",
      id: "spsa",
      systemId: "spsa",
      input: ({ context }) => ({ stallAfter: context.stallAfter }),
    },
    {
      src: "safeMode",
      id: "safeMode",
      systemId: "safeMode",
      input: ({ context }) => context.safeMode,
    },
  ],
});
