import { assign, emit, setup } from "xstate";
import { describeOptionValue, gotText, type OptionProblem } from "./option-problem.js";
import {
  demandedLevel,
  demandsAtLeast,
  haltReasonBits,
  isLatchedReason,
  reasonMask,
  reasonsInSet,
  SAFE_MODE_LEVEL,
  SAFE_MODE_REASONS,
  type SafeModeLevel,
  type SafeModeName,
  type SafeModeReason,
} from "./safe-mode-reasons.js";
import { timerMsRule } from "./timer-limit.js";

/** Events SafeMode reacts to. */
export type SafeModeEvent =
  /** A reason became active (added to the set; escalates at once if it demands more). */
  | { readonly type: "reason.raised"; readonly reason: SafeModeReason }
  /** A reason's exit condition holds (removed from the set; ignored for reasons latched until reset). */
  | { readonly type: "reason.cleared"; readonly reason: SafeModeReason }
  /**
   * The trip that raised `reason` was taken back: its cause was judged not the tuner's (the
   * engine's rollback probe found the regression persisting at the known-good configuration).
   * The reason leaves the set, and if that trip made the latest escalation and nothing was raised
   * since, the mode returns at once to the one the trip found (or what the reasons still active
   * demand, if more), from the mode it raised or from one step down it: a wrong blame costs the
   * probe, not a dwell.
   */
  | { readonly type: "trip.retracted"; readonly reason: SafeModeReason }
  /** An evaluation window closed healthy / unhealthy (counts toward stepping down / restarts the count). */
  | { readonly type: "window.healthy" }
  | { readonly type: "window.unhealthy" }
  /**
   * `engine.halt(reason)`: adds `manualHalt` and goes to `halted`; `reason` is free text for the
   * audit. `restores`, for a halt an earlier run ended in and a restart carries over: the bits of
   * the latched reasons that halt held, added instead of `manualHalt` (see {@link haltReasonBits}).
   */
  | { readonly type: "halt"; readonly reason: string; readonly restores?: number }
  /** `engine.resetSafeMode({ acknowledge })`: leaves `halted` for `normal` if `acknowledge` is not blank. */
  | { readonly type: "reset"; readonly acknowledge: string };

/** Emitted (`actor.on("mode.changed", …)`) on every mode change, for the audit and the executor's mode word. */
export interface SafeModeChanged {
  readonly type: "mode.changed";
  readonly from: SafeModeName;
  readonly to: SafeModeName;
  /** Active reasons after the change, in bit order. */
  readonly reasons: readonly SafeModeReason[];
  /** The same set as bits (the audit record's `a` field). */
  readonly reasonBits: number;
  /**
   * The free text given to `halt`, when a halt caused the change; `trip taken back: <reason>` when
   * a `trip.retracted` did (the one step down that skips the dwell).
   */
  readonly note?: string;
  /** The acknowledgement given to the reset, when a reset caused the change. */
  readonly acknowledge?: string;
}

/** Tuning for stepping down; `undefined` for a field means the same as leaving it out. */
export interface SafeModeOptions {
  /** Minimum time in a mode before it may step down, in ms (finite, ≥ 0; default 30 000). */
  readonly dwellMs?: number | undefined;
  /**
   * Consecutive healthy windows required to step down, with no change to the reason set (a whole
   * number from 1 to {@link SAFE_MODE_MAX_HEALTHY_WINDOWS}; default 3).
   */
  readonly healthyWindows?: number | undefined;
}

/** {@link SafeModeOptions} with the defaults filled in. */
export interface ResolvedSafeModeOptions {
  readonly dwellMs: number;
  readonly healthyWindows: number;
}

/** Defaults of {@link SafeModeOptions}. */
export const SAFE_MODE_DEFAULTS = { dwellMs: 30_000, healthyWindows: 3 } as const;

/**
 * Largest `healthyWindows` accepted. A requirement that high already means "never step down by
 * itself"; the bound keeps the count a small integer and catches unit slips (ms given as windows).
 */
export const SAFE_MODE_MAX_HEALTHY_WINDOWS = 1_000_000;

/** Each known option: whether a value is acceptable, and the reason given when it is not. */
const SAFE_MODE_OPTION_RULES: Readonly<
  Record<keyof SafeModeOptions, readonly [accepts: (x: number) => boolean, reason: string]>
> = {
  dwellMs: timerMsRule(false),
  healthyWindows: [
    (x) => Number.isInteger(x) && x >= 1 && x <= SAFE_MODE_MAX_HEALTHY_WINDOWS,
    `must be a whole number from 1 to ${SAFE_MODE_MAX_HEALTHY_WINDOWS}`,
  ],
};

/**
 * Every problem with a {@link SafeModeOptions} input, in key order; empty when valid. The one set of
 * rules for these options: the chart's own resolver throws on them, and the engine config reports
 * them as `safety.safeMode.<field>` issues.
 *
 * @remarks
 * `undefined` (all defaults) is valid, and so is any field set to `undefined` (its default). Refused:
 * a non-object (`field: ""`), an unknown key (usually a typo), and a value that is not a number
 * (`null`, strings, NaN included) or breaks its rule: `dwellMs` ≥ 0 and no longer than a Node timer can wait; `healthyWindows` a
 * whole number from 1 to {@link SAFE_MODE_MAX_HEALTHY_WINDOWS}. Pure; cold path.
 */
export function safeModeOptionProblems(input: unknown): OptionProblem[] {
  if (input === undefined) return [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ field: "", reason: "must be an object of SafeMode options" }];
  }
  const known = Object.keys(SAFE_MODE_OPTION_RULES);
  const problems: OptionProblem[] = [];
  for (const [field, value] of Object.entries(input)) {
    const rule = Object.hasOwn(SAFE_MODE_OPTION_RULES, field)
      ? SAFE_MODE_OPTION_RULES[field as keyof SafeModeOptions]
      : undefined;
    if (rule === undefined) {
      problems.push({ field, reason: `unknown option; known: ${known.join(", ")}`, known });
    } else if (value !== undefined && (typeof value !== "number" || !rule[0](value))) {
      problems.push({ field, reason: rule[1] });
    }
  }
  return problems;
}

/**
 * Checks `input` with {@link safeModeOptionProblems} and fills in the defaults.
 *
 * @throws RangeError naming every bad field and its value (direct users of the chart; the engine
 * reports the same problems as a `ConfigError` before it gets here).
 */
export function resolveSafeModeOptions(input: SafeModeOptions | undefined): ResolvedSafeModeOptions {
  const problems = safeModeOptionProblems(input);
  if (problems.length > 0) {
    const given = (input ?? {}) as Readonly<Record<string, unknown>>;
    const lines = problems.map((p) =>
      p.field === ""
        ? `${p.reason}, got ${describeOptionValue(input)}`
        : `${p.field}: ${p.reason}${gotText(p, given[p.field])}`,
    );
    throw new RangeError(`invalid SafeMode options: ${lines.join("; ")}`);
  }
  return {
    dwellMs: input?.dwellMs ?? SAFE_MODE_DEFAULTS.dwellMs,
    healthyWindows: input?.healthyWindows ?? SAFE_MODE_DEFAULTS.healthyWindows,
  };
}

/** What the chart remembers; small and JSON-safe. */
export interface SafeModeContext {
  /** The active reasons as a bit set (bit = `SAFE_MODE_REASONS[r].bit`). */
  readonly reasons: number;
  /** Consecutive healthy windows since the last mode change or reason change, capped at the requirement. */
  readonly healthyWindows: number;
  /**
   * The reason (as its bit) whose raise made the latest escalation, while that raise alone explains
   * the mode: a `trip.retracted` for it returns to {@link SafeModeContext.escalatedFrom}, even
   * part-way down. 0 once any other raise came (or the same reason's again), back in normal, and
   * in halted.
   */
  readonly escalatedBy: number;
  /** The mode level the raise named by `escalatedBy` escalated from. */
  readonly escalatedFrom: SafeModeLevel;
  readonly healthyWindowsRequired: number;
  readonly dwellMs: number;
}

/** The chart's starting context values for `input`; throws like {@link resolveSafeModeOptions}. */
function resolveOptions(
  input: SafeModeOptions | undefined,
): Pick<SafeModeContext, "dwellMs" | "healthyWindowsRequired"> {
  const { dwellMs, healthyWindows } = resolveSafeModeOptions(input);
  return { dwellMs, healthyWindowsRequired: healthyWindows };
}

/** `from`/`to` of a mode change. */
export interface ModeChange {
  readonly from: SafeModeName;
  readonly to: SafeModeName;
}

/**
 * Whether `reason` names a SafeMode reason. TypeScript checks the events, but a JS or data-driven
 * caller may send any value; own keys only, so "toString" and the like are not reasons.
 */
function isKnownReason(reason: unknown): reason is SafeModeReason {
  return typeof reason === "string" && Object.hasOwn(SAFE_MODE_REASONS, reason);
}

/** Letters and symbols that render as blank space (Hangul fillers, the blank braille pattern). */
const BLANK_GLYPHS = /[\u115F\u1160\u3164\uFFA0\u2800]/gu;

/**
 * Whether `acknowledge` names someone: a string with a visible character (a letter, digit,
 * punctuation or symbol that is not a blank glyph). Spaces, zero-width and other format, control
 * or combining characters alone are blank (`"\u200b"` passed `trim()` and reset a halt).
 */
export function isAcknowledgement(acknowledge: unknown): boolean {
  return (
    typeof acknowledge === "string" && /[\p{L}\p{N}\p{P}\p{S}]/u.test(acknowledge.replace(BLANK_GLYPHS, ""))
  );
}

/**
 * SafeMode as a statechart: `normal` → `conservative` → `frozen` → `halted`.
 *
 * @remarks
 * A pure definition (no I/O, no clock: the dwell is an `after` delay read from the context, so a
 * simulated clock drives it in tests). The engine sends reasons as they trip and clear, and one
 * `window.healthy`/`window.unhealthy` per closed evaluation window; it listens to `mode.changed` to
 * audit the change and flip the executor's mode word. The word is set by the engine's trip path
 * before it sends the event, so no apply slips in between; this chart decides when it is safe to
 * relax.
 *
 * Rules:
 * - The active reasons are a set; raising one never removes another, and each is removed only by
 *   its own `reason.cleared` or `trip.retracted` (both ignored for reasons latched until reset) or
 *   by an acknowledged reset.
 * - Escalation is immediate, straight to the highest mode any active reason demands.
 * - A mode steps down one level at a time, and only when no active reason demands it (or more),
 *   its dwell has passed (`dwelling` → `settled`), and `healthyWindows` consecutive healthy windows
 *   were seen with no change to the reason set since. Any raise or clear, an unhealthy window and
 *   every mode change restart that count; the dwell restarts on every mode entry.
 * - A `trip.retracted` for the raise that made the latest escalation, with no other raise since
 *   (in the mode it raised or one step down from it, whether its reason is still in the set or
 *   has cleared meanwhile), returns at once, without dwell or healthy
 *   windows, to the mode that raise found, or to what the reasons still active demand if that is
 *   more: the trip was taken back, so the mode it raised goes with it. Any other `trip.retracted`
 *   only removes its reason, if it is in the set.
 * - `halted` is latched: only `reset` with a non-blank `acknowledge` leaves it, to `normal` with the
 *   reason set cleared (the emitted event carries the acknowledgement). Outside `halted`, `reset`
 *   does nothing: the other modes end through their reasons.
 * - A malformed event from an untyped caller changes nothing (no transition, no context change):
 *   a `reason.raised`, `reason.cleared` or `trip.retracted` whose reason is not a known reason name, and a `reset`
 *   whose `acknowledge` is not a string.
 *
 * Cost: one XState transition per reason change or window (window cadence, never per digest).
 */
export const safeModeMachine = setup({
  types: {
    context: {} as SafeModeContext,
    events: {} as SafeModeEvent,
    emitted: {} as SafeModeChanged,
    input: {} as SafeModeOptions | undefined,
  },
  delays: {
    dwell: ({ context }) => context.dwellMs,
  },
  guards: {
    /** The set after this raise holds a reason demanding mode `to` or more. */
    raisesTo: ({ context, event }, params: { readonly to: SafeModeName }) =>
      event.type === "reason.raised" &&
      isKnownReason(event.reason) &&
      demandsAtLeast(context.reasons | reasonMask(event.reason), SAFE_MODE_LEVEL[params.to]),
    /** Nothing demands mode `from` (or more) and enough healthy windows were seen. */
    mayStepDown: ({ context }, params: { readonly from: SafeModeName }) =>
      !demandsAtLeast(context.reasons, SAFE_MODE_LEVEL[params.from]) &&
      context.healthyWindows >= context.healthyWindowsRequired,
    /** A `reason.raised` names a known reason (else the event is ignored). */
    knownReason: ({ event }) => event.type === "reason.raised" && isKnownReason(event.reason),
    clearable: ({ event }) =>
      event.type === "reason.cleared" && isKnownReason(event.reason) && !isLatchedReason(event.reason),
    /**
     * A `trip.retracted` names a known reason that is not latched and is in the set (else the event
     * changes nothing).
     */
    retractable: ({ context, event }) =>
      event.type === "trip.retracted" &&
      isKnownReason(event.reason) &&
      !isLatchedReason(event.reason) &&
      (context.reasons & reasonMask(event.reason)) !== 0,
    /**
     * A `trip.retracted` for the raise that made the latest escalation, after which the mode to be
     * in is `to`: the one that raise found, or what the other active reasons demand, if more
     * (offered only for modes below the current one).
     */
    returnsTo: ({ context, event }, params: { readonly to: SafeModeName }) =>
      event.type === "trip.retracted" &&
      isKnownReason(event.reason) &&
      !isLatchedReason(event.reason) &&
      context.escalatedBy === reasonMask(event.reason) &&
      Math.max(context.escalatedFrom, demandedLevel(context.reasons & ~reasonMask(event.reason))) ===
        SAFE_MODE_LEVEL[params.to],
    acknowledged: ({ event }) => event.type === "reset" && isAcknowledgement(event.acknowledge),
  },
  actions: {
    addReason: assign(({ context, event }) => ({
      reasons: event.type === "reason.raised" ? context.reasons | reasonMask(event.reason) : context.reasons,
      healthyWindows: 0,
    })),
    removeReason: assign(({ context, event }) => ({
      reasons:
        event.type === "reason.cleared" || event.type === "trip.retracted"
          ? context.reasons & ~reasonMask(event.reason)
          : context.reasons,
      healthyWindows: 0,
    })),
    /** Remembers which raise entered the new mode, from which level (see `escalatedBy`). */
    recordEscalation: assign(
      ({ event }, params: { readonly from: SafeModeName; readonly to: SafeModeName }) => ({
        // A raise straight to halted cannot be taken back: halted ends only by a reset.
        escalatedBy: event.type === "reason.raised" && params.to !== "halted" ? reasonMask(event.reason) : 0,
        escalatedFrom: SAFE_MODE_LEVEL[params.from],
      }),
    ),
    forgetEscalation: assign({ escalatedBy: 0, escalatedFrom: SAFE_MODE_LEVEL.normal }),
    addHaltReasons: assign(({ context, event }) => ({
      reasons: context.reasons | (event.type === "halt" ? haltReasonBits(event.restores) : 0),
      healthyWindows: 0,
    })),
    clearReasons: assign({
      reasons: 0,
      healthyWindows: 0,
      escalatedBy: 0,
      escalatedFrom: SAFE_MODE_LEVEL.normal,
    }),
    countHealthy: assign({
      healthyWindows: ({ context }) => Math.min(context.healthyWindows + 1, context.healthyWindowsRequired),
    }),
    restartHealthyCount: assign({ healthyWindows: 0 }),
    /** Emit `mode.changed`; runs after the transition's assignments, so it reports the new set. */
    announce: emit(({ context, event }, params: ModeChange) => {
      const change: SafeModeChanged = {
        type: "mode.changed",
        from: params.from,
        to: params.to,
        reasons: reasonsInSet(context.reasons),
        reasonBits: context.reasons,
        ...(event.type === "halt" ? { note: event.reason } : {}),
        ...(event.type === "trip.retracted" ? { note: `trip taken back: ${event.reason}` } : {}),
        ...(event.type === "reset" ? { acknowledge: event.acknowledge } : {}),
      };
      return change;
    }),
  },
}).createMachine({
  id: "safeMode",
  context: ({ input }) => ({
    ...resolveOptions(input),
    reasons: 0,
    healthyWindows: 0,
    escalatedBy: 0,
    escalatedFrom: SAFE_MODE_LEVEL.normal,
  }),
  initial: "normal",
  on: {
    "reason.cleared": { guard: "clearable", actions: "removeReason" },
    "trip.retracted": { guard: "retractable", actions: "removeReason" },
    "window.healthy": { actions: "countHealthy" },
    "window.unhealthy": { actions: "restartHealthyCount" },
  },
  states: {
    normal: {
      on: {
        // Straight to the most severe mode the raised reason demands, else it only joins the set.
        "reason.raised": [
          {
            guard: { type: "raisesTo", params: { to: "halted" } },
            target: "halted",
            actions: [
              "addReason",
              { type: "recordEscalation", params: { from: "normal", to: "halted" } },
              { type: "announce", params: { from: "normal", to: "halted" } },
            ],
          },
          {
            guard: { type: "raisesTo", params: { to: "frozen" } },
            target: "frozen",
            actions: [
              "addReason",
              { type: "recordEscalation", params: { from: "normal", to: "frozen" } },
              { type: "announce", params: { from: "normal", to: "frozen" } },
            ],
          },
          {
            guard: { type: "raisesTo", params: { to: "conservative" } },
            target: "conservative",
            actions: [
              "addReason",
              { type: "recordEscalation", params: { from: "normal", to: "conservative" } },
              { type: "announce", params: { from: "normal", to: "conservative" } },
            ],
          },
          { guard: "knownReason", actions: ["addReason", "forgetEscalation"] },
        ],
        halt: {
          target: "halted",
          actions: [
            "addHaltReasons",
            "forgetEscalation",
            { type: "announce", params: { from: "normal", to: "halted" } },
          ],
        },
      },
    },
    conservative: {
      initial: "dwelling",
      entry: "restartHealthyCount",
      on: {
        // Straight to the most severe mode the raised reason demands, else it only joins the set.
        "reason.raised": [
          {
            guard: { type: "raisesTo", params: { to: "halted" } },
            target: "halted",
            actions: [
              "addReason",
              { type: "recordEscalation", params: { from: "conservative", to: "halted" } },
              { type: "announce", params: { from: "conservative", to: "halted" } },
            ],
          },
          {
            guard: { type: "raisesTo", params: { to: "frozen" } },
            target: "frozen",
            actions: [
              "addReason",
              { type: "recordEscalation", params: { from: "conservative", to: "frozen" } },
              { type: "announce", params: { from: "conservative", to: "frozen" } },
            ],
          },
          { guard: "knownReason", actions: ["addReason", "forgetEscalation"] },
        ],
        halt: {
          target: "halted",
          actions: [
            "addHaltReasons",
            "forgetEscalation",
            { type: "announce", params: { from: "conservative", to: "halted" } },
          ],
        },
        // A retraction of the raise that made the latest escalation returns below at once.
        "trip.retracted": [
          {
            guard: { type: "returnsTo", params: { to: "normal" } },
            target: "#safeMode.normal",
            actions: [
              "removeReason",
              "forgetEscalation",
              { type: "announce", params: { from: "conservative", to: "normal" } },
            ],
          },
          { guard: "retractable", actions: "removeReason" },
        ],
      },
      states: {
        dwelling: { after: { dwell: "settled" } },
        settled: {
          always: {
            guard: { type: "mayStepDown", params: { from: "conservative" } },
            target: "#safeMode.normal",
            actions: [
              "restartHealthyCount",
              "forgetEscalation",
              { type: "announce", params: { from: "conservative", to: "normal" } },
            ],
          },
        },
      },
    },
    frozen: {
      initial: "dwelling",
      entry: "restartHealthyCount",
      on: {
        // Straight to the most severe mode the raised reason demands, else it only joins the set.
        "reason.raised": [
          {
            guard: { type: "raisesTo", params: { to: "halted" } },
            target: "halted",
            actions: [
              "addReason",
              { type: "recordEscalation", params: { from: "frozen", to: "halted" } },
              { type: "announce", params: { from: "frozen", to: "halted" } },
            ],
          },
          { guard: "knownReason", actions: ["addReason", "forgetEscalation"] },
        ],
        halt: {
          target: "halted",
          actions: [
            "addHaltReasons",
            "forgetEscalation",
            { type: "announce", params: { from: "frozen", to: "halted" } },
          ],
        },
        // A retraction of the raise that made the latest escalation returns below at once.
        "trip.retracted": [
          {
            guard: { type: "returnsTo", params: { to: "conservative" } },
            target: "#safeMode.conservative",
            actions: [
              "removeReason",
              "forgetEscalation",
              { type: "announce", params: { from: "frozen", to: "conservative" } },
            ],
          },
          {
            guard: { type: "returnsTo", params: { to: "normal" } },
            target: "#safeMode.normal",
            actions: [
              "removeReason",
              "forgetEscalation",
              { type: "announce", params: { from: "frozen", to: "normal" } },
            ],
          },
          { guard: "retractable", actions: "removeReason" },
        ],
      },
      states: {
        dwelling: { after: { dwell: "settled" } },
        settled: {
          always: {
            guard: { type: "mayStepDown", params: { from: "frozen" } },
            target: "#safeMode.conservative",
            actions: [
              "restartHealthyCount",
              { type: "announce", params: { from: "frozen", to: "conservative" } },
            ],
          },
        },
      },
    },
    halted: {
      entry: "restartHealthyCount",
      on: {
        "reason.raised": { guard: "knownReason", actions: "addReason" },
        halt: { actions: "addHaltReasons" },
        reset: {
          guard: "acknowledged",
          target: "normal",
          actions: ["clearReasons", { type: "announce", params: { from: "halted", to: "normal" } }],
        },
      },
    },
  },
});
