import { crc32c } from "./crc32c.js";
import { uint32At } from "./little-endian.js";

/** Bytes before a record's payload: u32 payload length, u32 CRC-32C of the payload (little-endian). */
export const FRAME_HEADER_BYTES = 8;

/** The largest payload a frame may carry; a larger length field can only be damage. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/**
 * Writes one frame `[u32 length][u32 crc32c(payload)][payload]` for `payload` into `out` at
 * `offset` and returns the offset just after it. `out` must have room for
 * `FRAME_HEADER_BYTES + payload.length` bytes.
 */
export function writeFrame(out: Uint8Array, offset: number, payload: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(offset, payload.length, true);
  view.setUint32(offset + 4, crc32c(payload), true);
  out.set(payload, offset + FRAME_HEADER_BYTES);
  return offset + FRAME_HEADER_BYTES + payload.length;
}

/** A new buffer holding the frame of `payload`. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrame(out, 0, payload);
  return out;
}

/** A frame found in a byte buffer: where its payload is. */
export interface FrameSlice {
  /** Offset of the frame (its length field). */
  readonly offset: number;
  /** Offset of the payload. */
  readonly payloadStart: number;
  /** Offset just after the payload (= the next frame's offset). */
  readonly end: number;
}

/** Why the bytes at some offset are not a valid frame. */
export type FrameProblem = "truncated header" | "bad length" | "truncated payload" | "crc mismatch";

/**
 * Reads the frame at `offset` of `bytes[0, limit)`: its slice when the length is plausible, the
 * payload fits and its CRC matches, else the problem found. Zero-length frames are invalid (a
 * zero-filled tail must never read as records).
 */
export function readFrame(
  bytes: Uint8Array,
  offset: number,
  limit = bytes.length,
): FrameSlice | FrameProblem {
  if (limit - offset < FRAME_HEADER_BYTES) return "truncated header";
  const length = uint32At(bytes, offset);
  if (length === 0 || length > MAX_PAYLOAD_BYTES) return "bad length";
  const payloadStart = offset + FRAME_HEADER_BYTES;
  const end = payloadStart + length;
  if (end > limit) return "truncated payload";
  if (crc32c(bytes, payloadStart, end) !== uint32At(bytes, offset + 4)) return "crc mismatch";
  return { offset, payloadStart, end };
}
