/**
 * Audit records in the decision log as the audit ring holds them: the record's numbers copied
 * straight from the ring's storage, decoded into the audit event only when the log is read.
 *
 * Payload layout (little-endian): the magic bytes `0xB2 0x01`, the log seq (f64), the number of
 * slots n (u16: the 9 fixed fields and the vector the record carries), the note's UTF-8 length
 * plus one (u32; 0 when the record has no note), a 2-bit tag per slot (four to a byte, slot 0 in
 * the low bits: 0 an f64 of 8 bytes follows, 1 an i32 of 4 bytes, 2 NaN with no bytes), the
 * slots' bytes, then the note. Most slots are small whole numbers or NaN (seq, type, generation,
 * codes, absent digest fields), and the frame's CRC costs per byte: a digest record takes about
 * 60 bytes instead of 130.
 *
 * Decoding needs what the ring decodes against (run id, parameter names, the code → name tables):
 * a logged engine writes it once per run as an `audit.context` record (JSON) before its first ring
 * record. Read back, a ring record is the same `{ seq, kind: "audit", event }` record as the JSON
 * and `0xB1` binary forms, so readers, replay, explain and compaction see no difference.
 */
import { SAFE_MODE_REASON_NAMES, SAFE_MODES } from "../../machines/safe-mode-reasons.js";
import { DIGEST_CHECK_NAMES } from "../audit/digest-rejection.js";
import {
  AUDIT_HEADER_FIELDS,
  type AuditDecodeContext,
  type AuditEvent,
  type AuditModeReasonName,
  DEFAULT_AUDIT_DECODERS,
  decodeAuditRecord,
  FIELD_TYPE,
  VECTOR_LENGTH_UNIT,
} from "../audit/events.js";
import type { AuditRing } from "../audit/ring.js";
import { encodeNumbers } from "./json-numbers.js";
import { float64At, int32At, uint16At, uint32At } from "./little-endian.js";
import { AUDIT_LOG_KIND, type LogRecord, RING_RECORD_KIND } from "./records.js";

/** The first two payload bytes of a ring record. */
export const RING_RECORD_MAGIC = [0xb2, 0x01] as const;

/** `kind` of the record that says what the ring records after it are decoded against. */
export const AUDIT_CONTEXT_KIND = "audit.context";

/** Bytes before the slots: magic, log seq, slot count, note length. */
const PREFIX_BYTES = 2 + 8 + 2 + 4;

/** Mode codes, reason bits and rejection codes whose names the context record lists. */
const MODE_CODES = 16;
const REASON_BITS = 31;
const REJECTION_CODES = 32;

/** The context record a log needs before ring records of a run can be decoded. */
export type AuditContextRecord = {
  readonly kind: typeof AUDIT_CONTEXT_KIND;
  readonly runId: string;
  /** Parameter names in registry order (keys of decoded vectors). */
  readonly names: readonly string[];
  /** Name of each mode code from 0. */
  readonly modes: readonly string[];
  /** Name of each mode-reason bit from 0. */
  readonly reasons: readonly string[];
  /** Name of each digest-rejection code from 0. */
  readonly rejections: readonly string[];
};

/** The context record of `ring`: its run id, parameter names and decoders as tables. */
export function auditContextRecord(ring: AuditRing): AuditContextRecord {
  const { runId, paramNames, decoders } = ring.decoding;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    kind: AUDIT_CONTEXT_KIND,
    runId,
    names: paramNames ?? [],
    modes: range(MODE_CODES).map((code) => decoders.mode(code)),
    reasons: range(REASON_BITS).map((bit) => decoders.modeReasons(2 ** bit)[0] ?? `reason-${bit}`),
    rejections: range(REJECTION_CODES).map((code) => decoders.digestRejection(code)),
  };
}

/** The decode context a context record describes, or undefined when `record` is not one. */
export function auditContextOf(record: LogRecord): AuditDecodeContext | undefined {
  if (record.kind !== AUDIT_CONTEXT_KIND || typeof record.runId !== "string") return undefined;
  const names = strings(record.names);
  // Only the names this version knows are read as such: a log's own vocabulary could hold names
  // of a later version, which the event types do not list (they read as `mode-<code>` and so on).
  const modes = known(strings(record.modes), SAFE_MODES);
  const reasons = known(strings(record.reasons), SAFE_MODE_REASON_NAMES);
  const rejections = known(strings(record.rejections), DIGEST_CHECK_NAMES);
  return {
    runId: record.runId,
    paramNames: names,
    decoders: {
      mode: (code) => modes[code] ?? DEFAULT_AUDIT_DECODERS.mode(code),
      modeReasons: (bits) => {
        const out: AuditModeReasonName[] = [];
        for (let bit = 0; bit < REASON_BITS; bit++)
          if ((bits >>> bit) & 1) out.push(reasons[bit] ?? `reason-${bit}`);
        return out;
      },
      digestRejection: (code) => rejections[code] ?? DEFAULT_AUDIT_DECODERS.digestRejection(code),
    },
  };
}

/** `names` with each name this version does not know in `vocabulary` as undefined (by position). */
function known<T extends string>(
  names: readonly string[] | undefined,
  vocabulary: readonly T[],
): (T | undefined)[] {
  return (names ?? []).map((name) => (vocabulary.includes(name as T) ? (name as T) : undefined));
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((x) => typeof x === "string") ? value : undefined;
}

/** Where the ring record being written comes from: reused for every record (no allocation). */
export interface RingCursor {
  ring: AuditRing;
  /** Pending record index (0 = oldest). */
  k: number;
}

/** UTF-8 bytes a note can take at most. */
function noteBound(note: string | undefined): number {
  return note === undefined ? 0 : note.length * 3;
}

/** An upper bound of the bytes {@link writeRingRecord} writes for pending record `k` of `ring`. */
export function ringRecordBound(ring: AuditRing, k: number): number {
  return PREFIX_BYTES + (ring.recordWidth >> 2) + 1 + ring.recordWidth * 8 + noteBound(ring.noteOf(k));
}

const TAG_F64 = 0;
const TAG_I32 = 1;
const TAG_NAN = 2;

/**
 * Writes the ring record `cursor` points at (with log seq `seq`) into `out` at `at`; returns the
 * offset just after it. Allocation-free unless the record has a note.
 */
export function writeRingRecord(
  out: Buffer,
  view: DataView,
  at: number,
  seq: number,
  cursor: RingCursor,
): number {
  const { ring, k } = cursor;
  const records = ring.storage;
  const offset = ring.offsetOf(k);
  const slots = AUDIT_HEADER_FIELDS + Math.floor(records[offset + FIELD_TYPE]! / VECTOR_LENGTH_UNIT);
  out[at] = RING_RECORD_MAGIC[0];
  out[at + 1] = RING_RECORD_MAGIC[1];
  view.setFloat64(at + 2, seq, true);
  view.setUint16(at + 10, slots, true);
  const tagsAt = at + PREFIX_BYTES;
  let p = tagsAt + ((slots + 3) >> 2);
  let tags = 0;
  for (let i = 0; i < slots; i++) {
    const x = records[offset + i]!;
    let tag = TAG_F64;
    // −0 stays an f64 (an i32 has no −0).
    if ((x | 0) === x && (x !== 0 || 1 / x > 0)) {
      tag = TAG_I32;
      view.setInt32(p, x, true);
      p += 4;
    } else if (Number.isNaN(x)) tag = TAG_NAN;
    else {
      view.setFloat64(p, x, true);
      p += 8;
    }
    tags |= tag << ((i & 3) << 1);
    if ((i & 3) === 3 || i === slots - 1) {
      out[tagsAt + (i >> 2)] = tags;
      tags = 0;
    }
  }
  const note = ring.noteOf(k);
  if (note === undefined) {
    view.setUint32(at + 12, 0, true);
    return p;
  }
  const length = out.write(note, p, "utf8");
  view.setUint32(at + 12, length + 1, true);
  return p + length;
}

/** Whether the payload `bytes[start, end)` is a ring record. */
export function isRingRecord(bytes: Uint8Array, start: number, end: number): boolean {
  return (
    end - start >= PREFIX_BYTES &&
    bytes[start] === RING_RECORD_MAGIC[0] &&
    bytes[start + 1] === RING_RECORD_MAGIC[1]
  );
}

/** A ring record read from a payload, not yet decoded (decoding needs the run's context). */
export interface RawRingRecord {
  readonly seq: number;
  readonly kind: typeof RING_RECORD_KIND;
  /** Holds the record's slots from `at` on, and other records' slots around them. */
  readonly slots: Float64Array;
  readonly at: number;
  readonly note: string | undefined;
}

export { RING_RECORD_KIND };

const utf8 = new TextDecoder("utf-8", { fatal: true });

// The slots of the records read are carved out of shared slabs, never reused (a record read keeps
// its slab alive): a typed array of its own per record, whose store V8 allocates and frees outside
// its heap, was half the time a scan spent on a ring record.
const SLAB_SLOTS = 8192;
let slab = new Float64Array(SLAB_SLOTS);
let slabUsed = 0;

/** The ring record a payload holds, or null when it is malformed. */
export function readRingRecord(bytes: Uint8Array, start: number, end: number): RawRingRecord | null {
  const seq = float64At(bytes, start + 2);
  const count = uint16At(bytes, start + 10);
  const noteField = uint32At(bytes, start + 12);
  if (count < AUDIT_HEADER_FIELDS) return null;
  const tagsAt = start + PREFIX_BYTES;
  let p = tagsAt + ((count + 3) >> 2);
  if (p > end) return null;
  if (count > SLAB_SLOTS - slabUsed) {
    slab = new Float64Array(Math.max(SLAB_SLOTS, count));
    slabUsed = 0;
  }
  const slots = slab;
  const at = slabUsed;
  for (let i = 0; i < count; i++) {
    const tag = (bytes[tagsAt + (i >> 2)]! >> ((i & 3) << 1)) & 3;
    if (tag === TAG_NAN) slots[at + i] = Number.NaN;
    else if (tag === TAG_I32 && p + 4 <= end) {
      slots[at + i] = int32At(bytes, p);
      p += 4;
    } else if (tag === TAG_F64 && p + 8 <= end) {
      slots[at + i] = float64At(bytes, p);
      p += 8;
    } else return null;
  }
  const notesAt = p;
  if (notesAt + Math.max(0, noteField - 1) !== end) return null;
  if (AUDIT_HEADER_FIELDS + Math.floor(slots[at + FIELD_TYPE]! / VECTOR_LENGTH_UNIT) !== count) return null;
  let note: string | undefined;
  if (noteField > 0) {
    try {
      note = utf8.decode(bytes.subarray(notesAt, end));
    } catch {
      return null;
    }
  }
  slabUsed += count;
  return { seq, kind: RING_RECORD_KIND, slots, at, note };
}

/** Whether {@link decodeRingRecord} would decode `raw` against `context` (without building its JSON form). */
export function ringRecordDecodes(raw: RawRingRecord, context: AuditDecodeContext | undefined): boolean {
  if (context === undefined) return false;
  try {
    decodeAuditRecord(raw.slots, raw.at, context, raw.note);
    return true;
  } catch {
    return false;
  }
}

/**
 * The audit record a ring record holds, decoded against `context`: the same record the JSON form
 * reads as (`{ seq, kind: "audit", event }`, non-JSON numbers tagged). Null when the record cannot
 * be decoded (no context, or an unknown record type).
 */
export function decodeRingRecord(
  raw: RawRingRecord,
  context: AuditDecodeContext | undefined,
): (LogRecord & { readonly seq: number }) | null {
  if (context === undefined) return null;
  try {
    const event = decodeAuditRecord(raw.slots, raw.at, context, raw.note);
    return { seq: raw.seq, kind: AUDIT_LOG_KIND, event: encodeNumbers(event) as Record<string, unknown> };
  } catch {
    return null;
  }
}

/**
 * An audit record read from a ring record with its event as decoded, numbers as they are (not
 * tagged as in the JSON form): for a reader within arqon that turns records into events anyway
 * (`auditEventOf` takes the event as it is). Decoding the event and then tagging its numbers only
 * for the reader to untag them again was most of the time a restart spent reading its log.
 */
export class DecodedAuditRecord {
  readonly kind = AUDIT_LOG_KIND;

  constructor(
    readonly seq: number,
    readonly event: AuditEvent,
  ) {}

  /** The record in its JSON form, as {@link decodeRingRecord} gives it. */
  toJSON(): LogRecord & { readonly seq: number } {
    return {
      seq: this.seq,
      kind: AUDIT_LOG_KIND,
      event: encodeNumbers(this.event) as Record<string, unknown>,
    };
  }
}

/** {@link decodeRingRecord}, the event left as decoded; null when the record cannot be decoded. */
export function decodedRingRecord(
  raw: RawRingRecord,
  context: AuditDecodeContext | undefined,
): DecodedAuditRecord | null {
  if (context === undefined) return null;
  try {
    return new DecodedAuditRecord(raw.seq, decodeAuditRecord(raw.slots, raw.at, context, raw.note));
  } catch {
    return null;
  }
}
