/**
 * The audit event schema (version 2): what `engine.events` emits and what the audit ring stores,
 * one numeric record per event.
 *
 * @remarks
 * Records are written on the hot path as numbers only (see {@link AuditRecordType} and the field
 * offsets below) and decoded into these objects when the ring is drained, where codes become
 * names. Every field is documented per type; a new field or type is a new schema version.
 */

import type { SafeModeName, SafeModeReason } from "../../machines/safe-mode-reasons.js";
import { type ApplyKindName, applyKindName } from "./apply-kind.js";
import { type DigestCheckName, DigestRejection, rejectionName } from "./digest-rejection.js";
import { type MalformedDigestField, malformedDetail } from "./malformed-digest.js";
import { type RollbackReasonName, rollbackReasonName } from "./rollback-reason.js";
import { violationName } from "./violation.js";

/**
 * Version of the event schema, carried by every event as `v`.
 *
 * Version 2 added vector slots to every record (see {@link AUDIT_HEADER_FIELDS}), the applied
 * values on `apply` and `rollback` events, and the `digest.accepted`, `decision`,
 * `decision.step` and `command` types; captured digests add their fields to `digest.rejected`.
 * Version 3 added the `regime.shift` and `homeostasis.recall` types (issue 11); a version-2 log
 * holds neither and reads as before. Version 4 added `homeostasis.refuted`. Version 5 added
 * `remeasure` to `window.closed`, version 6 its `negatedMargin`. Version 7 added
 * `command.refused`; a reader of version 6 cannot decode that record. Version 8 added
 * `shortWindows` and `digestSpacingMs` to `spsa.stalled`, and `field` and `problem` to a
 * malformed digest's `digest.rejected`. Version 9 added `restores` to a `halt` command carried
 * over from an earlier run (a restart, a fleet's new leader), and `values` to a `baseline.set` whose
 * values are not the live ones; a reader of version 8 reads that halt as an operator's, and that
 * baseline as the live values.
 */
export const AUDIT_SCHEMA_VERSION = 9;

/**
 * Numeric type of an audit record, with how the generic record fields (`code`, `param`, `a`, `b`)
 * and the vector slots are used by each type. "Vector" means the record was written with
 * `AuditRing.writeVector` (or completed by `attachVector`): one slot per parameter, in registry order.
 */
export const AuditRecordType = {
  /** A proposal was applied. code: ApplyKind; vector (optional): the raw values written. */
  Apply: 1,
  /** Tier 1 refused an apply or rollback. code: Violation; param: parameter index or −1; a: offending value; b: limit. */
  Violation: 2,
  /**
   * A digest was rejected. code: DigestRejection; param: for Malformed, the field at fault and the
   * problem (src/audit/malformed-digest.ts; −1 before schema 8); a: its objective (NaN if
   * unusable); b: its generation (NaN if unusable); digest slots (optional, when digests are
   * captured): see {@link DIGEST_SLOT_TIMESTAMP} and the following offsets.
   */
  DigestRejected: 3,
  /**
   * An evaluation window closed. code: bit 0 set if it closed by timeout, bit 1 if its value was not
   * used because it held anomalous digests (the cycle measures its centre again), bit 2 if it
   * measured the negated constraint margin instead of the objective (constraint-first mode);
   * param: values held; a: aggregated value (NaN if empty); b: time it opened.
   */
  WindowClosed: 4,
  /** An evaluation window timed out empty. a: consecutive timeouts so far. */
  EvalTimeout: 5,
  /** The baseline was restored as a new generation. code: RollbackReason; a: generation the baseline was taken at; vector (optional): the raw values restored. */
  Rollback: 6,
  /**
   * The current values became the baseline (the record's generation is the baseline's); vector
   * (present only then): the baseline's raw values when they are not the live ones (a config's
   * `baseline`).
   */
  BaselineSet: 7,
  /**
   * The SPSA cycle stalled. code: {@link STALL_SHORT_WINDOWS} when windows are shorter than the
   * digests' spacing; param: with that bit, the time between the last two resumes (ms), else −1;
   * a: iteration; b: empty windows in a row that stalled it (`stallAfter`).
   */
  SpsaStalled: 8,
  /** The safety mode changed. code: previous mode; param: new mode; a: bit set of reasons. */
  ModeChanged: 9,
  /**
   * A digest was accepted (written only while digest capture is on). code: 0; a: objective;
   * b: the digest's generation; digest slots: timestamp and the optional health fields (NaN when
   * absent), see {@link DIGEST_SLOT_TIMESTAMP}. The record's time is the engine clock at `observe`;
   * under a decision log's recording clock, a digest whose `observe` reads no clock carries the
   * clock's latest reading instead (a wall-clock read allocates; replay needs no fresher time).
   */
  DigestAccepted: 10,
  /**
   * An SPSA gradient estimate was completed. code: {@link DecisionOutcome}; param: iteration k
   * (before the step); a: y⁺; b: y⁻; vector: the gradient estimate ĝ in unit-cube units. In
   * constraint-first mode (its windows measured the negated margin) the estimate is the margin's
   * and the step that follows is a feasibility step, which leaves k as it was.
   */
  Decision: 11,
  /**
   * The SPSA centre moved (follows a `Decision` whose outcome is Stepped). code: parameters whose
   * step was clipped to its move budget; param: iteration k of the step; a: step gain a_k; b:
   * perturbation half-width c_k; vector: the step taken (new centre − old centre, unit cube).
   * A feasibility step (constraint-first: the windows before it have `negatedMargin`) uses no a_k
   * and does not advance k: param is the current k, and a the fraction of each parameter's room
   * (move budget − c_k) it moved against the sign of the margin's gradient (0.25).
   */
  DecisionStep: 12,
  /**
   * A control-plane command, written before it takes effect. code: {@link ControlCommand};
   * the note holds its text (rollback reason, acknowledgement, halt reason, reload summary);
   * a: for a halt carried over from an earlier run, the bit set of the SafeMode reasons it
   * restores (0 otherwise: the halt adds `manualHalt`).
   */
  Command: 13,
  /**
   * The regime detector judged a significant rise of the objective. code: {@link RegimeVerdict}
   * (1 exogenous: the gain re-opens; 2 caused by the tuner: a rollback follows); param: bit set of
   * the point kinds seen since the onset (1 centre, 2 plus, 4 minus); a: the mean rise in σ; b: the
   * centre's largest move since the onset, in maxDeltas.
   */
  RegimeShift: 14,
  /**
   * A warm start towards a remembered regime's centre (homeostasis). code: times that regime was
   * recalled; param: its cache entry; a: its remembered level; b: distance to it, in maxDeltas
   * (largest per parameter); vector: the remembered centre's raw values. The steps that follow
   * are ordinary centre applies, each within maxDelta.
   */
  HomeostasisRecall: 15,
  /**
   * A warm start towards a remembered regime stopped where it stood: the objective did not fall as
   * a return to that regime predicts. code: {@link RecallTest} (1 the probe at a shift, 2 a recall
   * looked up from gradient estimates); param: the regime's cache entry; a: the fall measured at the
   * centre since the recall; b: the fall a return predicted there.
   */
  HomeostasisRefuted: 16,
  /**
   * A control-plane command refused after its `Command` record was written: it could not be made
   * durable (the decision log's fsync or the host's `onCommand` failed), so it took no effect.
   * code: {@link ControlCommand}; the note holds why. A halt is never refused (it goes ahead).
   */
  CommandRefused: 17,
} as const;

/** One of the {@link AuditRecordType} codes. */
export type AuditRecordType = (typeof AuditRecordType)[keyof typeof AuditRecordType];

/**
 * Bit of a `SpsaStalled` record's code: the second stall in a row (or a later one) to follow the
 * digest (or burst) that ended the stall before with no digest after it: windows shorter than the
 * digests' spacing. Its `param` holds the time between the last two resumes (ms).
 */
export const STALL_SHORT_WINDOWS = 1;

/** Bit of a `WindowClosed` record's code: the window closed by timeout. */
export const WINDOW_TIMED_OUT = 1;
/** Bit of a `WindowClosed` record's code: anomalous digests, so the cycle measures its centre again. */
export const WINDOW_REMEASURE = 2;
/** Bit of a `WindowClosed` record's code: it aggregated −constraintMargin, not the objective (constraint-first). */
export const WINDOW_NEGATED_MARGIN = 4;
/**
 * Bit of a `WindowClosed` record's code: it aggregated objectives, then −constraintMargin (the
 * engine turned to feasibility while it was open and the window was not restarted: a paused cycle).
 */
export const WINDOW_MIXED_MEASURE = 8;

/** The `code` of a `Decision` record: what the commit did with the gradient estimate. */
export const DecisionOutcome = {
  /**
   * The centre moved by the (limited) step and k advanced (not after a feasibility step); a
   * `DecisionStep` record follows.
   */
  Stepped: 0,
  /** An "auto" gain is being calibrated: the estimate was recorded, the centre held. */
  Calibrating: 1,
} as const;

/** One of the {@link DecisionOutcome} codes. */
export type DecisionOutcome = (typeof DecisionOutcome)[keyof typeof DecisionOutcome];

const DECISION_OUTCOME_NAMES: readonly string[] = ["stepped", "calibrating"];

/** The `code` of a `HomeostasisRefuted` record: which kind of recall the objective refuted. */
export const RecallTest = {
  /** The probe at a shift, towards the regime the tuner was in before the one it was leaving. */
  Probe: 1,
  /** A recall looked up from the gradient estimates after a shift. */
  Lookup: 2,
} as const;

/** One of the {@link RecallTest} codes. */
export type RecallTest = (typeof RecallTest)[keyof typeof RecallTest];

const RECALL_TEST_NAMES: readonly string[] = ["none", "probe", "lookup"];
/** Names of the regime verdicts (codes of `RegimeShift` records), as in src/engine/safety/regime-detector.ts. */
const REGIME_VERDICT_NAMES: readonly string[] = ["none", "exogenous", "caused"];
/** Point kinds by bit of a `RegimeShift` record's param. */
const POINT_KIND_NAMES: readonly string[] = ["centre", "plus", "minus"];

/** The control-plane commands audited by `Command` records (the record's `code`). */
export const ControlCommand = {
  /** `engine.setBaseline()`. */
  SetBaseline: 1,
  /** `engine.rollback(reason)`; note: the reason. */
  Rollback: 2,
  /** `engine.resetSafeMode({ acknowledge })`; note: the acknowledgement. */
  ResetSafeMode: 3,
  /** `engine.halt(reason)`, or a halt carried over from an earlier run; note: the reason. */
  Halt: 4,
  /** A configuration reload; note: what was reloaded. */
  Reload: 5,
} as const;

/** One of the {@link ControlCommand} codes. */
export type ControlCommand = (typeof ControlCommand)[keyof typeof ControlCommand];

/** Names of the {@link ControlCommand} codes, as they appear in `command` events. */
export type ControlCommandName = "setBaseline" | "rollback" | "resetSafeMode" | "halt" | "reload";

const COMMAND_NAMES: readonly (ControlCommandName | undefined)[] = [
  undefined,
  "setBaseline",
  "rollback",
  "resetSafeMode",
  "halt",
  "reload",
];

/** The event name of a {@link ControlCommand} code (`"unknown"` for anything else). */
export function controlCommandName(code: number): ControlCommandName | "unknown" {
  return COMMAND_NAMES[code] ?? "unknown";
}

/** Number of fixed Float64 slots at the start of every record (the vector slots follow). */
export const AUDIT_HEADER_FIELDS = 9;
/** Offset of the sequence number (assigned by the ring). */
export const FIELD_SEQ = 0;
/**
 * Offset of the record type. The slot holds `type + 256 × n`, where n is the number of vector
 * slots written (0 for a record without a vector): see {@link VECTOR_LENGTH_UNIT}.
 */
export const FIELD_TYPE = 1;
/** Offset of the time (ms, engine clock). */
export const FIELD_TIME = 2;
/** Offset of the live generation when the record was written (after the change, for applies). */
export const FIELD_GENERATION = 3;
/** Offset of the proposal id (−1 when not about a proposal). */
export const FIELD_PROPOSAL = 4;
/** Offset of the type-specific code. */
export const FIELD_CODE = 5;
/** Offset of the parameter index (−1 when not about one parameter) or another small integer. */
export const FIELD_PARAM = 6;
/** Offset of the first type-specific number. */
export const FIELD_A = 7;
/** Offset of the second type-specific number. */
export const FIELD_B = 8;
/** Offset of the first vector slot. */
export const FIELD_VECTOR = AUDIT_HEADER_FIELDS;
/** Multiplier of the vector length stored in the type slot (record types stay below it). */
export const VECTOR_LENGTH_UNIT = 256;

/** Vector slot of a digest record holding the digest's timestamp (NaN when absent). */
export const DIGEST_SLOT_TIMESTAMP = 0;
/** Vector slot of a digest record holding `constraintMargin` (NaN when absent). */
export const DIGEST_SLOT_CONSTRAINT_MARGIN = 1;
/** Vector slot of a digest record holding `latencyP99` (NaN when absent). */
export const DIGEST_SLOT_LATENCY_P99 = 2;
/** Vector slot of a digest record holding `throughput` (NaN when absent). */
export const DIGEST_SLOT_THROUGHPUT = 3;
/** Vector slot of a digest record holding `errorRate` (NaN when absent). */
export const DIGEST_SLOT_ERROR_RATE = 4;
/** Vector slots a digest record uses; every ring has at least this many. */
export const DIGEST_SLOTS = 5;

/** Fields every event has. */
export interface AuditEventBase {
  /** Schema version it was written with: {@link AUDIT_SCHEMA_VERSION} for new events, 2 to 8 in older logs. */
  readonly v: 2 | 3 | 4 | 5 | 6 | 7 | 8 | typeof AUDIT_SCHEMA_VERSION;
  /** The run that wrote it (given to the ring). */
  readonly runId: string;
  /**
   * Position in the run's audit stream, from 1. Every write attempt takes a number, so a gap
   * means records were dropped (the ring was full).
   */
  readonly seq: number;
  /** Engine-clock milliseconds. */
  readonly time: number;
  /** Live-config generation when it was written (after the change, for applies and rollbacks). */
  readonly generation: number;
  /** Proposal it concerns, or −1. */
  readonly proposalId: number;
  /** Free text attached when the event was written (e.g. the reason given to `rollback`). */
  readonly note?: string;
}

/** A proposal was applied. */
export interface ApplyEvent<N extends string = string> extends AuditEventBase {
  readonly type: "apply";
  readonly kind: ApplyKindName;
  /** The raw values written, by parameter name (present when the writer recorded them). */
  readonly values?: Readonly<Record<N, number>>;
}

/** Tier 1 refused an apply or a rollback; nothing changed. */
export interface ViolationEvent extends AuditEventBase {
  readonly type: "violation";
  /** Violation name, e.g. "DeltaTooLarge". */
  readonly violation: string;
  /** Parameter index, or −1 when the violation is not about one parameter. */
  readonly param: number;
  /** Its name, when the ring knows the parameter names. */
  readonly paramName?: string;
  /** The offending value (see the Violation codes for its meaning). */
  readonly value: number;
  /** The limit it broke. */
  readonly limit: number;
}

/**
 * The optional fields of a captured digest, as the host gave them (absent when the host left
 * them out; a digest record stores NaN for "absent").
 */
export interface CapturedDigestFields {
  /** The digest's timestamp (ms, engine clock). */
  readonly timestamp?: number;
  readonly constraintMargin?: number;
  readonly latencyP99?: number;
  readonly throughput?: number;
  readonly errorRate?: number;
}

/** A digest was accepted (recorded only while digest capture is on, to make replay possible). */
export interface DigestAcceptedEvent extends AuditEventBase, CapturedDigestFields {
  readonly type: "digest.accepted";
  /** The digest's objective. */
  readonly objective: number;
  /** The generation the digest claimed (the live one, since it was accepted). */
  readonly digestGeneration: number;
}

/**
 * A digest was rejected and did not reach any window. While digest capture is on the event also
 * carries the digest's optional fields and `captured: true`.
 */
export interface DigestRejectedEvent extends AuditEventBase, CapturedDigestFields {
  readonly type: "digest.rejected";
  /** Rejection name, e.g. "WrongGeneration". */
  readonly reason: DigestCheckName;
  /** The digest's objective, or NaN when it had none usable. */
  readonly value: number;
  /** The generation the digest claimed, or NaN when unusable. */
  readonly digestGeneration: number;
  /** Present when the digest's fields were captured. */
  readonly captured?: true;
  /**
   * With reason `Malformed`: the field at fault, the first in the order of {@link Digest}'s fields
   * (`"digest"` when it is not an object, or reading it threw).
   */
  readonly field?: MalformedDigestField;
  /** With `field`: what is wrong with it, e.g. "must be a number, got a string". */
  readonly problem?: string;
}

/** An evaluation window closed and produced a value. */
export interface WindowClosedEvent extends AuditEventBase {
  readonly type: "window.closed";
  /** Values it held. */
  readonly count: number;
  /** Aggregated objective, or aggregated −constraintMargin when `negatedMargin` (NaN when empty). */
  readonly value: number;
  /** Whether it closed because its time ran out rather than by count. */
  readonly timedOut: boolean;
  /** When it opened (engine-clock ms); `time` is when it closed. */
  readonly openedAt: number;
  /**
   * Present when it held anomalous digests while the cycle was running, or completed an estimate
   * while the objective had not settled after a shift (decision rules 21): its value was not used,
   * and the SPSA cycle starts over in `cycle.holding`, measuring its centre again.
   */
  readonly remeasure?: true;
  /**
   * Present when it measured the negated constraint margin instead of the objective: the engine
   * was seeking feasibility (constraint-first mode, a negative `constraintMargin`), so each digest
   * gave it −constraintMargin (≤ 0 is feasible) and `value` aggregates those. Absent from logs
   * written before schema 6, whose windows may have measured either.
   */
  readonly negatedMargin?: true;
  /**
   * Present when it aggregated objectives and then −constraintMargin: the engine turned to
   * feasibility while it was open (a paused cycle keeps its window), from the digest with the
   * negative margin on. Schema 6, like `negatedMargin`.
   */
  readonly mixedMeasure?: true;
}

/**
 * Whether a closed window's value measured the objective: not when it aggregated −constraintMargin
 * (`negatedMargin`) or a mix (`mixedMeasure`), as in constraint-first mode. Charts and baselines
 * of the objective leave those out.
 */
export function measuredObjective(event: WindowClosedEvent): boolean {
  return event.negatedMargin !== true && event.mixedMeasure !== true;
}

/** An evaluation window timed out without any value. */
export interface EvalTimeoutEvent extends AuditEventBase {
  readonly type: "eval.timeout";
  /** Consecutive timeouts so far, this one included. */
  readonly consecutive: number;
}

/** The baseline was written back as a new generation. */
export interface RollbackEvent<N extends string = string> extends AuditEventBase {
  readonly type: "rollback";
  readonly reason: RollbackReasonName;
  /** Generation at which the restored baseline had been taken. */
  readonly restoredGeneration: number;
  /** The raw values restored, by parameter name (present when the writer recorded them). */
  readonly values?: Readonly<Record<N, number>>;
}

/** The live values at `generation` became the baseline, or `values` did. */
export interface BaselineSetEvent<N extends string = string> extends AuditEventBase {
  readonly type: "baseline.set";
  /**
   * The baseline's raw values by parameter name, present only when they are not the live values
   * (an engine whose config gives a `baseline` other than `init`, such as a fleet's new leader).
   */
  readonly values?: Readonly<Record<N, number>>;
}

/**
 * The SPSA cycle stalled: `stalledFor` evaluation windows in a row timed out empty, so it waits
 * at its centre for telemetry (docs/concepts/evaluation-windows.md).
 */
export interface SpsaStalledEvent extends AuditEventBase {
  readonly type: "spsa.stalled";
  /** Completed iterations when it stalled. */
  readonly iteration: number;
  /** Empty windows in a row that stalled it (the engine's `stallAfter`). */
  readonly stalledFor: number;
  /**
   * Present (true) when this stall is the second in a row, or a later one, to follow the digest
   * (or burst of digests) that ended the stall before with no digest after it: digests keep
   * arriving, but the windows time out before the next one does. `window.ms` is shorter than the
   * time between digests (seconds written as milliseconds, say), and the cycle stalls at every
   * digest or burst unless the windows are stretched (`window.stretch`).
   */
  readonly shortWindows?: true;
  /** With `shortWindows`: how far apart (ms) the digests that ended the last two stalls came. */
  readonly digestSpacingMs?: number;
}

/**
 * A SafeMode mode as a `mode.changed` event names it: `mode-<code>` only for a code this version
 * does not know (a log written by a later one).
 *
 * @remarks
 * The name unions of audit events (this one, {@link AuditModeReasonName}, `ApplyKindName`,
 * `RollbackReasonName`, `DigestCheckName`) hold what this version writes and decodes from binary
 * log records. An event read from JSON (a JSON-lines audit file, an older log's JSON records) is
 * taken as written: one written by a later version may carry a name outside them.
 */
export type AuditModeName = SafeModeName | `mode-${number}`;

/** A SafeMode reason as a `mode.changed` event names it: `reason-<bit>` only for an unknown bit. */
export type AuditModeReasonName = SafeModeReason | `reason-${number}`;

/** The safety mode changed. */
export interface ModeChangedEvent extends AuditEventBase {
  readonly type: "mode.changed";
  /** Previous mode, e.g. "normal". */
  readonly from: AuditModeName;
  /** New mode, e.g. "frozen". */
  readonly to: AuditModeName;
  /** Why, one name per reason bit set. */
  readonly reasons: readonly AuditModeReasonName[];
}

/** SPSA completed a gradient estimate from the two perturbed windows. */
export interface DecisionEvent<N extends string = string> extends AuditEventBase {
  readonly type: "decision";
  /** Iteration k the estimate belongs to (k advances with each gradient step, not a feasibility step). */
  readonly iteration: number;
  /** "stepped" (a `decision.step` follows) or "calibrating" (the centre held). */
  readonly outcome: string;
  /** Window value at the plus point. */
  readonly yPlus: number;
  /** Window value at the minus point. */
  readonly yMinus: number;
  /** Gradient estimate ĝ, unit-cube units, by parameter name. */
  readonly gradient: Readonly<Record<N, number>>;
}

/** SPSA moved its centre. */
export interface DecisionStepEvent<N extends string = string> extends AuditEventBase {
  readonly type: "decision.step";
  /**
   * Iteration k whose gains were used (k advances after a gradient step; a feasibility step leaves
   * it, and carries the current k).
   */
  readonly iteration: number;
  /**
   * Step gain a_k; for a feasibility step (constraint-first, its windows `negatedMargin`), the
   * fraction of each parameter's room (move budget − c) it moved instead: 0.25.
   */
  readonly a: number;
  /** Perturbation half-width c_k. */
  readonly c: number;
  /** Parameters whose step was clipped to their move budget. */
  readonly clipped: number;
  /** The step taken, new centre − old centre, unit-cube units, by parameter name. */
  readonly step: Readonly<Record<N, number>>;
}

/** The regime detector's verdict on a significant rise of the objective. */
export interface RegimeShiftEvent extends AuditEventBase {
  readonly type: "regime.shift";
  /** "exogenous" (an environment shift: followed, the gain re-opened) or "caused" (the tuner's: rolled back). */
  readonly verdict: string;
  /** Point kinds seen since the rise's onset ("centre", "plus", "minus"). */
  readonly kinds: readonly string[];
  /** Mean rise over the level since the onset, in σ of the objective. */
  readonly sigmas: number;
  /** Largest move of the centre since the onset, in maxDeltas. */
  readonly displacement: number;
}

/** A warm start towards a remembered regime's known-good centre. */
export interface HomeostasisRecallEvent<N extends string = string> extends AuditEventBase {
  readonly type: "homeostasis.recall";
  /** Cache entry of the regime. */
  readonly entry: number;
  /** Times it was recalled, this one included. */
  readonly hits: number;
  /** Objective level remembered for it. */
  readonly level: number;
  /** Distance to its centre, in maxDeltas (largest per parameter). */
  readonly distance: number;
  /** The remembered centre, raw values by parameter name. */
  readonly target: Readonly<Record<N, number>>;
}

/** A warm start towards a remembered regime, stopped because the objective refuted it. */
export interface HomeostasisRefutedEvent extends AuditEventBase {
  readonly type: "homeostasis.refuted";
  /** Cache entry of the regime. */
  readonly entry: number;
  /** "probe" (the warm start at a shift) or "lookup" (a recall from gradient estimates). */
  readonly recall: string;
  /** Fall of the objective measured at the centre since the recall. */
  readonly fall: number;
  /** Fall a return to the regime predicted there. */
  readonly predictedFall: number;
}

/** A control-plane command, recorded before it took effect. */
export interface CommandEvent extends AuditEventBase {
  readonly type: "command";
  /** Which command. */
  readonly command: ControlCommandName | "unknown";
  /**
   * A `halt` carried over from an earlier run (a restarted logged engine, a fleet's new leader):
   * the latched SafeMode reasons that run's halt held, which this one adds (`repeatedTrips` for
   * SafeMode's, `manualHalt` for an operator's). Absent for every other command, and for a halt
   * the host asked for (it adds `manualHalt`).
   */
  readonly restores?: readonly AuditModeReasonName[];
}

/**
 * A control-plane command that took no effect after all: written right after its `command` record
 * when it could not be made durable. `note` says why.
 */
export interface CommandRefusedEvent extends AuditEventBase {
  readonly type: "command.refused";
  /** Which command. */
  readonly command: ControlCommandName | "unknown";
}

/** Any audit event. */
export type AuditEvent<N extends string = string> =
  | ApplyEvent<N>
  | ViolationEvent
  | DigestRejectedEvent
  | WindowClosedEvent
  | EvalTimeoutEvent
  | RollbackEvent<N>
  | BaselineSetEvent<N>
  | SpsaStalledEvent
  | ModeChangedEvent
  | DigestAcceptedEvent
  | DecisionEvent<N>
  | DecisionStepEvent<N>
  | CommandEvent
  | CommandRefusedEvent
  | RegimeShiftEvent
  | HomeostasisRecallEvent<N>
  | HomeostasisRefutedEvent;

/** The `type` names of {@link AuditEvent}. */
export type AuditEventType = AuditEvent["type"];

/**
 * Code → name functions the decoder needs for codes defined outside the audit module. Apply
 * kinds, violations, rollback reasons and digest rejections have built-in decoders; the safety
 * layer supplies modes and reasons.
 */
export interface AuditDecoders {
  readonly digestRejection: (code: number) => DigestCheckName;
  readonly mode: (code: number) => AuditModeName;
  /** Names of the reasons set in a bit set (bit 0 first). */
  readonly modeReasons: (bits: number) => readonly AuditModeReasonName[];
}

/** Decoders used when none are given: digest rejection names, and generic mode names. */
export const DEFAULT_AUDIT_DECODERS: AuditDecoders = {
  digestRejection: rejectionName,
  mode: (code) => `mode-${code}`,
  modeReasons: (bits) => {
    const names: AuditModeReasonName[] = [];
    for (let bit = 0; bit < 31; bit++) if ((bits >>> bit) & 1) names.push(`reason-${bit}`);
    return names;
  },
};

/** What a record is decoded against: the run, decoders and (optionally) parameter names. */
export interface AuditDecodeContext {
  readonly runId: string;
  readonly decoders: AuditDecoders;
  readonly paramNames: readonly string[] | undefined;
}

/**
 * Decodes the record at `offset` of `records` into an {@link AuditEvent}.
 *
 * @remarks
 * Cold path (allocates the event). Throws a RangeError for an unknown record type, which only a
 * programming error can produce (writers pass {@link AuditRecordType} codes). Vector entries are
 * keyed by `context.paramNames` (by index as a string when a name is missing).
 */
export function decodeAuditRecord(
  records: Float64Array,
  offset: number,
  context: AuditDecodeContext,
  note: string | undefined,
): AuditEvent {
  // Built by assignment in a fixed key order (the log's JSON follows it): one object per event,
  // no spread copies or per-call closures, since a logged engine decodes every record it writes.
  const event: Record<string, unknown> = {
    v: AUDIT_SCHEMA_VERSION,
    runId: context.runId,
    seq: records[offset + FIELD_SEQ]!,
    time: records[offset + FIELD_TIME]!,
    generation: records[offset + FIELD_GENERATION]!,
    proposalId: records[offset + FIELD_PROPOSAL]!,
  };
  if (note !== undefined) event.note = note;
  const typeSlot = records[offset + FIELD_TYPE]!;
  const type = typeSlot % VECTOR_LENGTH_UNIT;
  const vectorLength = Math.floor(typeSlot / VECTOR_LENGTH_UNIT);
  const vectorAt = offset + FIELD_VECTOR;
  const code = records[offset + FIELD_CODE]!;
  const param = records[offset + FIELD_PARAM]!;
  const a = records[offset + FIELD_A]!;
  const b = records[offset + FIELD_B]!;
  const names = context.paramNames;
  switch (type) {
    case AuditRecordType.Apply:
      event.type = "apply";
      event.kind = applyKindName(code);
      if (vectorLength > 0) event.values = namedVector(records, vectorAt, vectorLength, names);
      break;
    case AuditRecordType.Violation: {
      event.type = "violation";
      event.violation = violationName(code);
      event.param = param;
      const paramName = param >= 0 ? names?.[param] : undefined;
      if (paramName !== undefined) event.paramName = paramName;
      event.value = a;
      event.limit = b;
      break;
    }
    case AuditRecordType.DigestRejected: {
      event.type = "digest.rejected";
      event.reason = context.decoders.digestRejection(code);
      event.value = a;
      event.digestGeneration = b;
      const detail = code === DigestRejection.Malformed ? malformedDetail(param, b) : undefined;
      if (detail !== undefined) {
        event.field = detail.field;
        event.problem = detail.problem;
      }
      if (vectorLength >= DIGEST_SLOTS) {
        event.captured = true;
        putDigestFields(event, records, vectorAt);
      }
      break;
    }
    case AuditRecordType.DigestAccepted:
      event.type = "digest.accepted";
      event.objective = a;
      event.digestGeneration = b;
      if (vectorLength >= DIGEST_SLOTS) putDigestFields(event, records, vectorAt);
      break;
    case AuditRecordType.WindowClosed:
      event.type = "window.closed";
      event.count = param;
      event.value = a;
      event.timedOut = (code & WINDOW_TIMED_OUT) !== 0;
      event.openedAt = b;
      if ((code & WINDOW_REMEASURE) !== 0) event.remeasure = true;
      if ((code & WINDOW_NEGATED_MARGIN) !== 0) event.negatedMargin = true;
      if ((code & WINDOW_MIXED_MEASURE) !== 0) event.mixedMeasure = true;
      break;
    case AuditRecordType.EvalTimeout:
      event.type = "eval.timeout";
      event.consecutive = a;
      break;
    case AuditRecordType.Rollback:
      event.type = "rollback";
      event.reason = rollbackReasonName(code);
      event.restoredGeneration = a;
      if (vectorLength > 0) event.values = namedVector(records, vectorAt, vectorLength, names);
      break;
    case AuditRecordType.BaselineSet:
      event.type = "baseline.set";
      if (vectorLength > 0) event.values = namedVector(records, vectorAt, vectorLength, names);
      break;
    case AuditRecordType.SpsaStalled:
      event.type = "spsa.stalled";
      event.iteration = a;
      event.stalledFor = b;
      if ((code & STALL_SHORT_WINDOWS) !== 0) {
        event.shortWindows = true;
        event.digestSpacingMs = param;
      }
      break;
    case AuditRecordType.ModeChanged:
      event.type = "mode.changed";
      event.from = context.decoders.mode(code);
      event.to = context.decoders.mode(param);
      event.reasons = context.decoders.modeReasons(a);
      break;
    case AuditRecordType.Decision:
      event.type = "decision";
      event.iteration = param;
      event.outcome = DECISION_OUTCOME_NAMES[code] ?? "unknown";
      event.yPlus = a;
      event.yMinus = b;
      event.gradient = namedVector(records, vectorAt, vectorLength, names);
      break;
    case AuditRecordType.DecisionStep:
      event.type = "decision.step";
      event.iteration = param;
      event.a = a;
      event.c = b;
      event.clipped = code;
      event.step = namedVector(records, vectorAt, vectorLength, names);
      break;
    case AuditRecordType.Command:
      event.type = "command";
      event.command = controlCommandName(code);
      if (a !== 0) event.restores = context.decoders.modeReasons(a);
      break;
    case AuditRecordType.CommandRefused:
      event.type = "command.refused";
      event.command = controlCommandName(code);
      break;
    case AuditRecordType.RegimeShift:
      event.type = "regime.shift";
      event.verdict = REGIME_VERDICT_NAMES[code] ?? "unknown";
      event.kinds = POINT_KIND_NAMES.filter((_, bit) => (param >>> bit) & 1);
      event.sigmas = a;
      event.displacement = b;
      break;
    case AuditRecordType.HomeostasisRecall:
      event.type = "homeostasis.recall";
      event.entry = param;
      event.hits = code;
      event.level = a;
      event.distance = b;
      event.target = namedVector(records, vectorAt, vectorLength, names);
      break;
    case AuditRecordType.HomeostasisRefuted:
      event.type = "homeostasis.refuted";
      event.entry = param;
      event.recall = RECALL_TEST_NAMES[code] ?? "unknown";
      event.fall = a;
      event.predictedFall = b;
      break;
    default:
      throw new RangeError(`audit record ${event.seq} has unknown type ${type}`);
  }
  return event as unknown as AuditEvent;
}

/** The `length` vector slots at `at`, keyed by parameter name. */
function namedVector(
  records: Float64Array,
  at: number,
  length: number,
  names: readonly string[] | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < length; i++) out[names?.[i] ?? String(i)] = records[at + i]!;
  return out;
}

/** Adds the optional digest fields held in the digest slots at `at` to `event` (NaN slots are left out). */
function putDigestFields(event: Record<string, unknown>, records: Float64Array, at: number): void {
  const timestamp = records[at + DIGEST_SLOT_TIMESTAMP]!;
  if (!Number.isNaN(timestamp)) event.timestamp = timestamp;
  const constraintMargin = records[at + DIGEST_SLOT_CONSTRAINT_MARGIN]!;
  if (!Number.isNaN(constraintMargin)) event.constraintMargin = constraintMargin;
  const latencyP99 = records[at + DIGEST_SLOT_LATENCY_P99]!;
  if (!Number.isNaN(latencyP99)) event.latencyP99 = latencyP99;
  const throughput = records[at + DIGEST_SLOT_THROUGHPUT]!;
  if (!Number.isNaN(throughput)) event.throughput = throughput;
  const errorRate = records[at + DIGEST_SLOT_ERROR_RATE]!;
  if (!Number.isNaN(errorRate)) event.errorRate = errorRate;
}
