import { assign, setup } from "xstate";

/** How the probe's landscape was classified (recorded in the run). */
export interface SolverClassification {
  readonly label: "structured" | "chaotic";
  readonly score: number;
  readonly statistic: string;
}

/** The strategy setting the machine selects with. */
export type StrategySetting = "auto" | "nelder-mead" | "tpe";

/** What the solver chart remembers: the strategy setting and, once the probe is done, its classification. */
export interface SolverMachineContext {
  readonly strategy: StrategySetting;
  readonly classification: SolverClassification | null;
}

/** Control events the solver's code sends the chart as results arrive. */
export type SolverMachineEvent =
  /** Every probe trial has been told; carries the classification computed from the results. */
  | { readonly type: "probe.completed"; readonly classification: SolverClassification }
  /** Every trial the budget allows has been asked and told. */
  | { readonly type: "budget.spent" }
  /** The refine strategy has nothing left to try. */
  | { readonly type: "strategy.exhausted" };

/**
 * Lifecycle of an ask/tell solver: probe → classify → select → refine (Nelder–Mead | TPE) → done.
 *
 * @remarks
 * A pure definition (no I/O, no numeric state): the solver's code computes the probe design,
 * the classification and the strategies' proposals, and sends this machine the control events
 * that move it between phases. `classify` records the classification and `select` chooses the
 * refine strategy (an explicit `strategy` setting overrides the classification); both are
 * transient, so a snapshot at rest is always in `probe`, `refine.*` or `done`.
 */
export const solverMachine = setup({
  types: {
    context: {} as SolverMachineContext,
    events: {} as SolverMachineEvent,
    input: {} as { readonly strategy: StrategySetting },
  },
  guards: {
    prefersNelderMead: ({ context }) =>
      context.strategy === "nelder-mead" ||
      (context.strategy === "auto" && context.classification?.label === "structured"),
  },
}).createMachine({
  id: "solver",
  initial: "probe",
  context: ({ input }) => ({ strategy: input.strategy, classification: null }),
  states: {
    probe: {
      on: {
        "probe.completed": {
          target: "classify",
          actions: assign({ classification: ({ event }) => event.classification }),
        },
      },
    },
    classify: {
      always: "select",
    },
    select: {
      always: [{ guard: "prefersNelderMead", target: "refine.nelderMead" }, { target: "refine.tpe" }],
    },
    refine: {
      initial: "tpe",
      states: {
        nelderMead: {},
        tpe: {},
      },
      on: {
        "budget.spent": "done",
        "strategy.exhausted": "done",
      },
    },
    done: {
      type: "final",
    },
  },
});
