import { assign, not, setup } from "xstate";
import { describeOptionValue, unknownKeyText } from "./option-problem.js";

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
  /**
   * Every probe point has been handed out, some results are still out, and the caller asks for
   * more: a strategy that needs neither the classification nor the probe's best point starts now.
   */
  | { readonly type: "probe.dispatched" }
  /** Every trial the budget allows has been asked and told. */
  | { readonly type: "budget.spent" }
  /** The refine strategy has nothing left to try. */
  | { readonly type: "strategy.exhausted" };

/** The strategy settings the chart selects among. */
const STRATEGY_SETTINGS: readonly StrategySetting[] = ["auto", "nelder-mead", "tpe"];

/**
 * `input` checked as the chart's input (a visual tool or a direct user may give anything).
 *
 * @throws RangeError naming the field and the value refused, or an unknown key: an unknown
 * strategy would otherwise select `auto`'s branch without a word.
 */
export function resolveSolverMachineInput(input: unknown): { readonly strategy: StrategySetting } {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new RangeError(
      `invalid solver chart input: expected an object { strategy }, got ${describeOptionValue(input)}`,
    );
  const unknown = unknownKeyText(input, ["strategy"]);
  if (unknown !== undefined) throw new RangeError(`invalid solver chart input: ${unknown}`);
  const { strategy } = input as { strategy?: unknown };
  if (!STRATEGY_SETTINGS.includes(strategy as StrategySetting))
    throw new RangeError(
      `invalid solver chart input: strategy must be one of ${STRATEGY_SETTINGS.join(", ")}, got ${describeOptionValue(strategy)}`,
    );
  return { strategy: strategy as StrategySetting };
}

/**
 * Lifecycle of an ask/tell solver: probe → classify → select → refine (Nelder–Mead | TPE |
 * global-local) → done.
 *
 * @remarks
 * A pure definition (no I/O, no numeric state): the solver's code computes the probe design,
 * the classification and the strategies' proposals, and sends this machine the control events
 * that move it between phases. `classify` records the classification (kept for inspection) and
 * `select` follows the `strategy` setting: `auto` runs the global-local strategy, which does not
 * depend on the classification (a 10-point probe is too few to bet a run on); both are
 * transient, so a snapshot at rest is always in `probe`, `refine.*` or `done`.
 *
 * With several trials running at once, waiting for the probe's last result would idle every
 * worker that asks meanwhile: `probe.dispatched` goes straight to `select` once every probe point
 * is out, unless the strategy is a forced Nelder–Mead (its first simplex is built around the
 * probe's best point), and the classification is recorded in `refine` when the probe's last
 * result arrives. (`auto` enters `refine` too, but its strategy holds back its first local phase
 * until the probe's results are in, for the same reason as Nelder–Mead.)
 *
 * `done` is final. A run whose budget was spent and then grows (`Solver.extend`) goes on in a new
 * actor started from a snapshot in its strategy's `refine` state, as a restored run does.
 */
export const solverMachine = setup({
  types: {
    context: {} as SolverMachineContext,
    events: {} as SolverMachineEvent,
    input: {} as { readonly strategy: StrategySetting },
  },
  guards: {
    forcedNelderMead: ({ context }) => context.strategy === "nelder-mead",
    forcedTpe: ({ context }) => context.strategy === "tpe",
    // Forced Nelder–Mead builds its first simplex around the probe's best point.
    startsBeforeProbeResults: not("forcedNelderMead"),
  },
  actions: {
    recordClassification: assign({
      classification: ({ event }) => (event.type === "probe.completed" ? event.classification : null),
    }),
  },
}).createMachine({
  id: "solver",
  initial: "probe",
  context: ({ input }) => ({ strategy: resolveSolverMachineInput(input).strategy, classification: null }),
  states: {
    probe: {
      on: {
        "probe.completed": { target: "classify", actions: "recordClassification" },
        "probe.dispatched": { guard: "startsBeforeProbeResults", target: "select" },
      },
    },
    classify: {
      always: "select",
    },
    select: {
      always: [
        { guard: "forcedNelderMead", target: "refine.nelderMead" },
        { guard: "forcedTpe", target: "refine.tpe" },
        { target: "refine.globalLocal" },
      ],
    },
    refine: {
      initial: "tpe",
      states: {
        nelderMead: {},
        tpe: {},
        /** `auto`: global TPE interleaved with local Nelder–Mead (src/solver/global-local.ts). */
        globalLocal: {},
      },
      on: {
        // Refining began before the probe's last result (probe.dispatched).
        "probe.completed": { actions: "recordClassification" },
        "budget.spent": "done",
        "strategy.exhausted": "done",
      },
    },
    done: {
      type: "final",
    },
  },
});
