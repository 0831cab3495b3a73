/**
 * Little-endian numbers read from a byte array without a `DataView` of it: a scan reads a few per
 * frame, hundreds of thousands of frames a second, and a view made for each read is an allocation
 * each time.
 */

/** The unsigned 32-bit integer at `at`. */
export function uint32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** The signed 32-bit integer at `at`. */
export function int32At(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}

/** The unsigned 16-bit integer at `at`. */
export function uint16At(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

// Eight bytes copied here are read as one double (NaN payloads and −0 kept).
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

/** The 64-bit float at `at`. */
export function float64At(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratch[i] = bytes[at + i]!;
  return scratchView.getFloat64(0, true);
}
