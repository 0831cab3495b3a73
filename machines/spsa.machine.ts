import { type StateValueFrom, setup } from "xstate";
import { describeOptionValue, unknownKeyText } from "./option-problem.js";

/** Control events the SPSA cycle reacts to (window cadence, never per digest). */
export type SpsaMachineEvent =
  /** Begin tuning. */
  | { readonly type: "start" }
  /** An evaluation window closed with at least one accepted digest; `value` is its aggregate. */
  | { readonly type: "window.closed"; readonly value: number }
  /** An evaluation window timed out without a single accepted digest (`consecutive`: how many in a row). */
  | { readonly type: "window.timedOut"; readonly consecutive: number }
  /** Tier 1 refused the apply just attempted (`code` is the violation). */
  | { readonly type: "apply.rejected"; readonly code: number }
  /** The live point was reset from outside (rollback): discard the cycle and start over. */
  | { readonly type: "reset" }
  /** Stop proposing until `resume` (observe only). */
  | { readonly type: "pause" }
  | { readonly type: "resume" };

/** What the SPSA chart remembers (numbers live in the engine's SPSA core, not here). */
export interface SpsaMachineContext {
  /** After this many consecutive empty windows the cycle stalls (stops proposing). */
  readonly stallAfter: number;
}

/** The chart's input: after how many empty windows in a row the cycle stalls. */
export interface SpsaMachineInput {
  readonly stallAfter: number;
}

/**
 * `input` checked as the chart's input (a visual tool or a direct user may give anything);
 * `alsoKnown`: keys a chart that embeds this one takes besides.
 *
 * @throws RangeError naming the field and the value refused, or an unknown key: a chart that
 * silently stalls at once (`stallAfter` 0 or −1) or never (NaN) is worse than one that does not start.
 */
export function resolveSpsaMachineInput(
  input: unknown,
  chart = "SPSA chart",
  alsoKnown: readonly string[] = [],
): SpsaMachineInput {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new RangeError(
      `invalid ${chart} input: expected an object { stallAfter }, got ${describeOptionValue(input)}`,
    );
  const unknown = unknownKeyText(input, ["stallAfter", ...alsoKnown]);
  if (unknown !== undefined) throw new RangeError(`invalid ${chart} input: ${unknown}`);
  const { stallAfter } = input as { stallAfter?: unknown };
  if (typeof stallAfter !== "number" || !Number.isSafeInteger(stallAfter) || stallAfter < 1)
    throw new RangeError(
      `invalid ${chart} input: stallAfter must be a whole number ≥ 1, got ${describeOptionValue(stallAfter)}`,
    );
  return { stallAfter };
}

/**
 * One SPSA cycle as a statechart: plus → minus → centre, one evaluation window each.
 *
 * @remarks
 * A pure definition. Its actions are named hooks that the engine provides (`machine.provide`):
 * they move the numeric SPSA core, hand target points to the Tier-1 executor and (re)open the
 * evaluation window; a refused apply comes back as `apply.rejected`. Numbers stay out of the
 * context (the engine counts empty windows and says how many in a row with each timeout), so a
 * window's event costs one transition and no context update.
 *
 * Inside `cycle`:
 * - `plus`: apply θ + c·Δ and measure a window.
 * - `minus`: apply θ − c·Δ and measure a window.
 * - `centre`: estimate the gradient, step the centre, apply it and measure a window (the centre's
 *   measurement feeds the noise model; it is not part of the gradient).
 * - `holding`: at the start, after a refused apply or a reset: bring the live point back to the
 *   centre (if it is elsewhere), measure it once, then start a new iteration (a refused apply
 *   never advances k).
 * - an empty window is measured again; `stallAfter` of them in a row stall the cycle.
 *
 * Outside it:
 * - `stalled`: telemetry stopped; the live point goes back to the centre, a window is kept open
 *   and the first digest that arrives resumes the cycle (in `holding`).
 * - `paused`: no proposals at all until `resume`; windows still open and close (observe only),
 *   so SafeMode keeps judging the telemetry, one window per window limit at most (a window that
 *   fills early is followed by a rest, so fast telemetry does not close one per digest).
 */
export const spsaMachine = setup({
  types: {
    context: {} as SpsaMachineContext,
    events: {} as SpsaMachineEvent,
    input: {} as SpsaMachineInput,
  },
  actions: {
    /** Draw Δ and the gains for a new iteration. */
    beginIteration: () => {},
    applyPlus: () => {},
    applyMinus: () => {},
    /** Compute the gradient and the new centre, and apply it. */
    applyCentre: () => {},
    /** Record the closing window's value (the event's `value`) as y⁺, y⁻ or the centre's. */
    recordPlus: () => {},
    recordMinus: () => {},
    recordCentre: () => {},
    /**
     * Bring the live point back to the centre if it is elsewhere (once Tier 1 allows an apply),
     * then open a window: what that window measures is the centre.
     */
    measureCentre: () => {},
    /** Forget the iteration in progress (k does not advance). */
    abandonIteration: () => {},
    openWindow: () => {},
    /**
     * Open the next window once the one that just filled has had its time (its limit, from when
     * it opened): observing only, the cycle needs windows at their own pace, not one per digest.
     */
    openWindowAfterRest: () => {},
    discardWindow: () => {},
    /** Audit an empty window (the event's `consecutive` count). */
    noteTimeout: () => {},
    /** Audit that the cycle stalled. */
    noteStalled: () => {},
  },
  guards: {
    stallsNow: ({ context, event }) =>
      event.type === "window.timedOut" && event.consecutive >= context.stallAfter,
  },
}).createMachine({
  id: "spsa",
  initial: "idle",
  context: ({ input }) => ({ stallAfter: resolveSpsaMachineInput(input).stallAfter }),
  on: {
    pause: { target: ".paused", actions: ["abandonIteration", "discardWindow"] },
    reset: { target: ".cycle.holding", actions: ["abandonIteration"] },
  },
  states: {
    idle: {
      // The first window measures the starting point, so the noise model has a centre value.
      on: { start: "cycle.holding" },
    },
    cycle: {
      initial: "plus",
      on: {
        "window.timedOut": [
          {
            guard: "stallsNow",
            target: "stalled",
            actions: ["noteTimeout", "abandonIteration"],
          },
          {
            // Measure the same point again: the window was empty, not bad.
            actions: ["noteTimeout", "openWindow"],
          },
        ],
        "apply.rejected": { target: ".holding", actions: ["abandonIteration"] },
      },
      states: {
        plus: {
          entry: ["beginIteration", "applyPlus", "openWindow"],
          on: {
            "window.closed": {
              target: "minus",
              actions: ["recordPlus"],
            },
          },
        },
        minus: {
          entry: ["applyMinus", "openWindow"],
          on: {
            "window.closed": {
              target: "centre",
              actions: ["recordMinus"],
            },
          },
        },
        centre: {
          entry: ["applyCentre", "openWindow"],
          on: {
            "window.closed": {
              target: "plus",
              actions: ["recordCentre"],
            },
          },
        },
        holding: {
          entry: ["measureCentre"],
          on: {
            "window.closed": {
              target: "plus",
              actions: ["recordCentre"],
            },
          },
        },
      },
    },
    stalled: {
      entry: ["noteStalled", "measureCentre"],
      on: {
        "window.timedOut": { actions: ["openWindow"] },
        "window.closed": "cycle.holding",
      },
    },
    paused: {
      // Observe only: windows keep closing (SafeMode judges their health) but nothing is proposed.
      entry: ["openWindow"],
      on: {
        resume: "cycle.holding",
        // A reset while paused moves the centre but must not end the pause.
        reset: { actions: ["abandonIteration"] },
        "window.closed": { actions: ["openWindowAfterRest"] },
        "window.timedOut": { actions: ["openWindow"] },
      },
    },
  },
});

/**
 * A state value as its dotted names, leaves only: `{ cycle: "plus" }` is `"cycle.plus"`. A compound
 * state is always reported with the child it is in, so its own name is left out.
 */
type LeafStateName<V> = V extends string
  ? V
  : { [K in keyof V & string]: `${K}.${LeafStateName<NonNullable<V[K]>>}` }[keyof V & string];

/** The SPSA chart's compound states (their names alone are never a state the chart reports). */
type SpsaCompoundState = "cycle";

/**
 * The SPSA chart's state as a dotted name (`"cycle.plus"`, `"stalled"`, …): what
 * `EngineSnapshot.phase` and the React hook `useEngineState().spsa` report. Derived from the
 * chart, so a state added to it is a new member here.
 */
export type SpsaStateName = Exclude<LeafStateName<StateValueFrom<typeof spsaMachine>>, SpsaCompoundState>;
