/**
 * The audit event schema (version 1): what `engine.events` emits and what the audit ring stores,
 * one numeric record per event.
 *
 * @remarks
 * Records are written on the hot path as numbers only (see {@link AuditRecordType} and the field
 * offsets below) and decoded into these objects when the ring is drained, where codes become
 * names. Every field is documented per type; a new field or type is a new schema version.
 */
import { rejectionName } from "../engine/digest.js";
import { applyKindName } from "../hotpath/apply-kind.js";
import { rollbackReasonName } from "../hotpath/rollback-reason.js";
import { violationName } from "../hotpath/violation.js";

/** Version of the event schema, carried by every event as `v`. */
export const AUDIT_SCHEMA_VERSION = 1;

/**
 * Numeric type of an audit record, with how the generic record fields (`code`, `param`, `a`, `b`)
 * are used by each type.
 */
export const AuditRecordType = {
  /** A proposal was applied. code: ApplyKind (param, a, b unused: the values are attached when draining, if wanted). */
  Apply: 1,
  /** Tier 1 refused an apply or rollback. code: Violation; param: parameter index or −1; a: offending value; b: limit. */
  Violation: 2,
  /** A digest was rejected. code: DigestRejection; a: its objective (NaN if unusable); b: its generation (NaN if unusable). */
  DigestRejected: 3,
  /** An evaluation window closed. code: 1 if by timeout else 0; param: values held; a: aggregated value (NaN if empty); b: time it opened. */
  WindowClosed: 4,
  /** An evaluation window timed out empty. a: consecutive timeouts so far. */
  EvalTimeout: 5,
  /** The baseline was restored as a new generation. code: RollbackReason; a: generation the baseline was taken at. */
  Rollback: 6,
  /** The current values became the baseline (the record's generation is the baseline's). */
  BaselineSet: 7,
  /** SPSA stopped making progress. a: iteration; b: how many iterations without progress. */
  SpsaStalled: 8,
  /** The safety mode changed. code: previous mode; param: new mode; a: bit set of reasons. */
  ModeChanged: 9,
} as const;

/** One of the {@link AuditRecordType} codes. */
export type AuditRecordType = (typeof AuditRecordType)[keyof typeof AuditRecordType];

/** Number of Float64 slots per record. */
export const AUDIT_RECORD_FIELDS = 9;
/** Offset of the sequence number (assigned by the ring). */
export const FIELD_SEQ = 0;
/** Offset of the {@link AuditRecordType}. */
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

/** Fields every event has. */
export interface AuditEventBase {
  /** Schema version. */
  readonly v: 1;
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
export interface ApplyEvent extends AuditEventBase {
  readonly type: "apply";
  /** "plus" | "minus" | "centre" | "rollback" | "manual". */
  readonly kind: string;
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

/** A digest was rejected and did not reach any window. */
export interface DigestRejectedEvent extends AuditEventBase {
  readonly type: "digest.rejected";
  /** Rejection name, e.g. "WrongGeneration". */
  readonly reason: string;
  /** The digest's objective, or NaN when it had none usable. */
  readonly value: number;
  /** The generation the digest claimed, or NaN when unusable. */
  readonly digestGeneration: number;
}

/** An evaluation window closed and produced a value. */
export interface WindowClosedEvent extends AuditEventBase {
  readonly type: "window.closed";
  /** Values it held. */
  readonly count: number;
  /** Aggregated objective (NaN when empty). */
  readonly value: number;
  /** Whether it closed because its time ran out rather than by count. */
  readonly timedOut: boolean;
  /** When it opened (engine-clock ms); `time` is when it closed. */
  readonly openedAt: number;
}

/** An evaluation window timed out without any value. */
export interface EvalTimeoutEvent extends AuditEventBase {
  readonly type: "eval.timeout";
  /** Consecutive timeouts so far, this one included. */
  readonly consecutive: number;
}

/** The baseline was written back as a new generation. */
export interface RollbackEvent extends AuditEventBase {
  readonly type: "rollback";
  /** "manual" | "regression" | "constraint-breach" | "safe-mode". */
  readonly reason: string;
  /** Generation at which the restored baseline had been taken. */
  readonly restoredGeneration: number;
}

/** The live values at `generation` became the baseline. */
export interface BaselineSetEvent extends AuditEventBase {
  readonly type: "baseline.set";
}

/** SPSA stopped making progress. */
export interface SpsaStalledEvent extends AuditEventBase {
  readonly type: "spsa.stalled";
  /** Iteration number when it was noticed. */
  readonly iteration: number;
  /** Iterations without progress. */
  readonly stalledFor: number;
}

/** The safety mode changed (reserved for the control-safety layer). */
export interface ModeChangedEvent extends AuditEventBase {
  readonly type: "mode.changed";
  readonly from: string;
  readonly to: string;
  /** Why, one name per reason bit set. */
  readonly reasons: readonly string[];
}

/** Any audit event (schema version 1). */
export type AuditEvent =
  | ApplyEvent
  | ViolationEvent
  | DigestRejectedEvent
  | WindowClosedEvent
  | EvalTimeoutEvent
  | RollbackEvent
  | BaselineSetEvent
  | SpsaStalledEvent
  | ModeChangedEvent;

/** The `type` names of {@link AuditEvent}. */
export type AuditEventType = AuditEvent["type"];

/**
 * Code → name functions the decoder needs for codes defined outside the audit module. Apply
 * kinds, violations, rollback reasons and digest rejections have built-in decoders; the safety
 * layer supplies modes and reasons.
 */
export interface AuditDecoders {
  readonly digestRejection: (code: number) => string;
  readonly mode: (code: number) => string;
  /** Names of the reasons set in a bit set (bit 0 first). */
  readonly modeReasons: (bits: number) => readonly string[];
}

/** Decoders used when none are given: digest rejection names, and generic mode names. */
export const DEFAULT_AUDIT_DECODERS: AuditDecoders = {
  digestRejection: rejectionName,
  mode: (code) => `mode-${code}`,
  modeReasons: (bits) => {
    const names: string[] = [];
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
 * programming error can produce (writers pass {@link AuditRecordType} codes).
 */
export function decodeAuditRecord(
  records: Float64Array,
  offset: number,
  context: AuditDecodeContext,
  note: string | undefined,
): AuditEvent {
  const base: AuditEventBase = {
    v: AUDIT_SCHEMA_VERSION,
    runId: context.runId,
    seq: records[offset + FIELD_SEQ]!,
    time: records[offset + FIELD_TIME]!,
    generation: records[offset + FIELD_GENERATION]!,
    proposalId: records[offset + FIELD_PROPOSAL]!,
    ...(note === undefined ? {} : { note }),
  };
  const type = records[offset + FIELD_TYPE]!;
  const code = records[offset + FIELD_CODE]!;
  const param = records[offset + FIELD_PARAM]!;
  const a = records[offset + FIELD_A]!;
  const b = records[offset + FIELD_B]!;
  const paramName = param >= 0 ? context.paramNames?.[param] : undefined;
  const named = paramName === undefined ? {} : { paramName };
  switch (type) {
    case AuditRecordType.Apply:
      return { ...base, type: "apply", kind: applyKindName(code) };
    case AuditRecordType.Violation:
      return {
        ...base,
        type: "violation",
        violation: violationName(code),
        param,
        ...named,
        value: a,
        limit: b,
      };
    case AuditRecordType.DigestRejected:
      return {
        ...base,
        type: "digest.rejected",
        reason: context.decoders.digestRejection(code),
        value: a,
        digestGeneration: b,
      };
    case AuditRecordType.WindowClosed:
      return { ...base, type: "window.closed", count: param, value: a, timedOut: code === 1, openedAt: b };
    case AuditRecordType.EvalTimeout:
      return { ...base, type: "eval.timeout", consecutive: a };
    case AuditRecordType.Rollback:
      return { ...base, type: "rollback", reason: rollbackReasonName(code), restoredGeneration: a };
    case AuditRecordType.BaselineSet:
      return { ...base, type: "baseline.set" };
    case AuditRecordType.SpsaStalled:
      return { ...base, type: "spsa.stalled", iteration: a, stalledFor: b };
    case AuditRecordType.ModeChanged:
      return {
        ...base,
        type: "mode.changed",
        from: context.decoders.mode(code),
        to: context.decoders.mode(param),
        reasons: context.decoders.modeReasons(a),
      };
    default:
      throw new RangeError(`audit record ${base.seq} has unknown type ${type}`);
  }
}
