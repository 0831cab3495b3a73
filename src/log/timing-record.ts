/**
 * Timing records (`{ seq, kind: "timer" | "flush", id, time, after }`, see `TimeRecord`) in a
 * binary payload: a logged engine writes one at every timer run and host flush, which on a busy
 * engine is a quarter of its records. Written as JSON text before; readers take both forms and
 * return the same record.
 *
 * Layout (little-endian, 31 bytes): the magic bytes `0xB3 0x01`, the log seq (f64), the kind (u8:
 * 0 timer, 1 flush), the timer id (i32; −1 for a flush), the time (f64) and `after` (f64). A time
 * that is not finite (a broken scheduler) reads back as `null`, as the JSON form wrote it, which
 * readers do not take for a timing, so replay stops there instead of guessing.
 */

import { float64At, int32At } from "./little-endian.js";
import type { TimeRecord } from "./log-records.js";
import { FLUSH_LOG_KIND, TIMER_LOG_KIND } from "./records.js";

/** The first two payload bytes of a binary timing record (a JSON payload starts with `{`). */
export const TIMING_RECORD_MAGIC = [0xb3, 0x01] as const;

/** Payload bytes of a binary timing record. */
export const TIMING_RECORD_BYTES = 2 + 8 + 1 + 4 + 8 + 8;

const KIND_TIMER = 0;
const KIND_FLUSH = 1;

/**
 * Writes the binary payload of `timing` (log seq `seq`) into `out` at `at`; returns the offset
 * after it. Allocation-free.
 */
export function writeTimingRecord(
  out: Buffer,
  view: DataView,
  at: number,
  seq: number,
  timing: TimeRecord,
): number {
  out[at] = TIMING_RECORD_MAGIC[0];
  out[at + 1] = TIMING_RECORD_MAGIC[1];
  view.setFloat64(at + 2, seq, true);
  out[at + 10] = timing.kind === FLUSH_LOG_KIND ? KIND_FLUSH : KIND_TIMER;
  view.setInt32(at + 11, timing.id, true);
  view.setFloat64(at + 15, timing.time, true);
  view.setFloat64(at + 23, timing.after, true);
  return at + TIMING_RECORD_BYTES;
}

/** Whether the payload `bytes[start, end)` is a binary timing record. */
export function isTimingRecord(bytes: Uint8Array, start: number, end: number): boolean {
  return (
    end - start === TIMING_RECORD_BYTES &&
    bytes[start] === TIMING_RECORD_MAGIC[0] &&
    bytes[start + 1] === TIMING_RECORD_MAGIC[1]
  );
}

/** The record a binary timing payload holds, in the JSON form's shape, or null when malformed. */
export function readTimingRecord(
  bytes: Uint8Array,
  start: number,
  end: number,
): {
  readonly seq: number;
  readonly kind: string;
  readonly id: number;
  readonly time: number | null;
  readonly after: number;
} | null {
  if (!isTimingRecord(bytes, start, end)) return null;
  const code = bytes[start + 10];
  if (code !== KIND_TIMER && code !== KIND_FLUSH) return null;
  const time = float64At(bytes, start + 15);
  return {
    seq: float64At(bytes, start + 2),
    kind: code === KIND_FLUSH ? FLUSH_LOG_KIND : TIMER_LOG_KIND,
    id: int32At(bytes, start + 11),
    time: Number.isFinite(time) ? time : null,
    after: float64At(bytes, start + 23),
  };
}
