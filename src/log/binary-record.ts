/**
 * The binary payload of an audit record in logs written before ring records (`ring-record.ts`):
 * still read, no longer written by a logged engine. It was written once from the event, with
 * every number as its 8 IEEE-754 bytes (no number-to-text conversion, NaN, ±Infinity and −0 kept
 * exactly), instead of JSON text.
 *
 * Layout (little-endian): the magic bytes `0xB1 0x01`, the record's seq (f64), then the event's
 * fields in their own order. A field is its name (u16 byte length, UTF-8), a tag byte and a value:
 * `N` f64 number, `S` string (u32 byte length, UTF-8), `T` true, `F` false, `Z` null, `O` object
 * (u16 field count, then its fields), `A` array (u16 item count, then tag and value per item).
 *
 * Read back, it is the same record as the JSON form (`{ seq, kind: "audit", event }`, numbers JSON
 * cannot hold tagged as `{ "$num": … }`), so readers, replay, explain and compaction see no
 * difference; logs holding JSON audit records read as before.
 */
import { AUDIT_LOG_KIND } from "./records.js";

/** The first two payload bytes of a binary audit record (a JSON payload starts with `{`). */
export const BINARY_AUDIT_MAGIC = [0xb1, 0x01] as const;

const NUMBER = 0x4e; // N
const STRING = 0x53; // S
const TRUE = 0x54; // T
const FALSE = 0x46; // F
const NULL = 0x5a; // Z
const OBJECT = 0x4f; // O
const ARRAY = 0x41; // A

/** An upper bound of the bytes {@link writeBinaryAudit} writes for `event`. */
export function binaryAuditBound(event: object): number {
  return 2 + 8 + fieldsBound(event as Record<string, unknown>);
}

function fieldsBound(fields: Record<string, unknown>): number {
  let bytes = 0;
  for (const key in fields) bytes += 2 + key.length * 3 + valueBound(fields[key]);
  return bytes;
}

function valueBound(value: unknown): number {
  if (typeof value === "number") return 9;
  if (typeof value === "string") return 5 + value.length * 3;
  if (Array.isArray(value)) {
    let bytes = 3;
    for (const item of value) bytes += valueBound(item);
    return bytes;
  }
  if (typeof value === "object" && value !== null) return 3 + fieldsBound(value as Record<string, unknown>);
  return 1;
}

/**
 * Writes the binary payload of the audit record (`seq`, `event`) into `out` at `at`; returns the
 * offset just after it. `out` must have {@link binaryAuditBound} bytes of room.
 */
export function writeBinaryAudit(
  out: Buffer,
  view: DataView,
  at: number,
  seq: number,
  event: object,
): number {
  out[at] = BINARY_AUDIT_MAGIC[0];
  out[at + 1] = BINARY_AUDIT_MAGIC[1];
  view.setFloat64(at + 2, seq, true);
  return writeFields(out, view, at + 10, event as Record<string, unknown>);
}

/**
 * UTF-8 bytes of the field names and short string values seen so far: an event repeats the same
 * few (its keys, its type, the run id), and copying ten cached bytes beats a native encode call.
 */
const utf8Cache = new Map<string, Uint8Array>();
const CACHE_ENTRIES = 4096;
const CACHED_LENGTH = 64;

function utf8Of(text: string): Uint8Array {
  let bytes = utf8Cache.get(text);
  if (bytes === undefined) {
    bytes = Buffer.from(text, "utf8");
    if (text.length <= CACHED_LENGTH && utf8Cache.size < CACHE_ENTRIES) utf8Cache.set(text, bytes);
  }
  return bytes;
}

function copyInto(out: Buffer, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n > 32) out.set(bytes, at);
  else for (let i = 0; i < n; i++) out[at + i] = bytes[i]!;
  return at + n;
}

function writeFields(out: Buffer, view: DataView, at: number, fields: Record<string, unknown>): number {
  let p = at;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const name = utf8Of(key);
    view.setUint16(p, name.length, true);
    p = writeValue(out, view, copyInto(out, p + 2, name), value);
  }
  return p;
}

function writeValue(out: Buffer, view: DataView, at: number, value: unknown): number {
  if (typeof value === "number") {
    out[at] = NUMBER;
    view.setFloat64(at + 1, value, true);
    return at + 9;
  }
  if (typeof value === "string") {
    out[at] = STRING;
    if (value.length > CACHED_LENGTH) {
      const length = out.write(value, at + 5, "utf8");
      view.setUint32(at + 1, length, true);
      return at + 5 + length;
    }
    const bytes = utf8Of(value);
    view.setUint32(at + 1, bytes.length, true);
    return copyInto(out, at + 5, bytes);
  }
  if (value === true || value === false) {
    out[at] = value ? TRUE : FALSE;
    return at + 1;
  }
  if (Array.isArray(value)) {
    out[at] = ARRAY;
    view.setUint16(at + 1, value.length, true);
    let p = at + 3;
    for (const item of value) p = writeValue(out, view, p, item);
    return p;
  }
  if (typeof value === "object" && value !== null) {
    out[at] = OBJECT;
    let count = 0;
    for (const key in value) if ((value as Record<string, unknown>)[key] !== undefined) count++;
    view.setUint16(at + 1, count, true);
    return writeFields(out, view, at + 3, value as Record<string, unknown>);
  }
  out[at] = NULL;
  return at + 1;
}

/** Whether the payload `bytes[start, end)` is a binary audit record. */
export function isBinaryAudit(bytes: Uint8Array, start: number, end: number): boolean {
  return (
    end - start >= 10 && bytes[start] === BINARY_AUDIT_MAGIC[0] && bytes[start + 1] === BINARY_AUDIT_MAGIC[1]
  );
}

/** Thrown inside the reader for a malformed binary payload (the frame is then treated as bad). */
class Malformed extends Error {}

/**
 * The record a binary audit payload holds, in the JSON form's shape, or null when it is malformed
 * (its CRC matched, so only a writer bug could cause that).
 */
export function readBinaryAudit(
  bytes: Uint8Array,
  start: number,
  end: number,
): { readonly seq: number; readonly kind: string; readonly event: Record<string, unknown> } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = { bytes, view, p: start + 10, end };
  try {
    const seq = view.getFloat64(start + 2, true);
    const event: Record<string, unknown> = {};
    while (reader.p < end) readField(reader, event);
    return { seq, kind: AUDIT_LOG_KIND, event };
  } catch {
    return null;
  }
}

interface Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  p: number;
  readonly end: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function take(reader: Reader, n: number): number {
  const at = reader.p;
  if (at + n > reader.end) throw new Malformed("truncated");
  reader.p = at + n;
  return at;
}

function readField(reader: Reader, into: Record<string, unknown>): void {
  const length = reader.view.getUint16(take(reader, 2), true);
  const at = take(reader, length);
  const key = utf8.decode(reader.bytes.subarray(at, at + length));
  into[key] = readValue(reader);
}

function readValue(reader: Reader): unknown {
  const tag = reader.bytes[take(reader, 1)];
  switch (tag) {
    case NUMBER:
      return tagged(reader.view.getFloat64(take(reader, 8), true));
    case STRING: {
      const length = reader.view.getUint32(take(reader, 4), true);
      const at = take(reader, length);
      return utf8.decode(reader.bytes.subarray(at, at + length));
    }
    case TRUE:
      return true;
    case FALSE:
      return false;
    case NULL:
      return null;
    case ARRAY: {
      const count = reader.view.getUint16(take(reader, 2), true);
      const items: unknown[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(reader));
      return items;
    }
    case OBJECT: {
      const count = reader.view.getUint16(take(reader, 2), true);
      const fields: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) readField(reader, fields);
      return fields;
    }
    default:
      throw new Malformed(`unknown tag ${tag}`);
  }
}

/** A number as the JSON form holds it: NaN, ±Infinity and −0 tagged as `{ "$num": … }`. */
function tagged(x: number): unknown {
  if (Number.isFinite(x) && !Object.is(x, -0)) return x;
  return { $num: Object.is(x, -0) ? "-0" : String(x) };
}
