/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
 * The check value is `crc32c("123456789") === 0xE3069283`.
 *
 * Computed with eight lookup tables ("slicing by 8"): each step folds eight input bytes into the
 * running value with eight table reads, instead of one read per byte.
 */

const POLYNOMIAL = 0x82f63b78;

/** `TABLES[k * 256 + b]`: the CRC contribution of byte `b` followed by `k` zero bytes. */
const TABLES: Int32Array = buildTables();

// Int32: the running value stays a small integer for V8 (an unsigned one above 2^31 would not).
function buildTables(): Int32Array {
  const tables = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    tables[b] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const previous = tables[(k - 1) * 256 + b]!;
      tables[k * 256 + b] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
}

/** A view of the last array hashed: reused while callers hash the same buffer (the writer's slab). */
let viewed: Uint8Array | undefined;
let view: DataView | undefined;

function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== viewed || view === undefined) {
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    viewed = bytes;
  }
  return view;
}

/**
 * The CRC-32C of `bytes[start, end)`, continuing from `previous` (the CRC of the bytes before, 0 to
 * start afresh), as an unsigned 32-bit number.
 *
 * @remarks
 * Allocation-free while the same array is hashed again (a new array costs one DataView); about
 * one table read per input byte, eight bytes per loop turn, read as two 32-bit words.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  const t = TABLES;
  let crc = ~previous;
  let i = start;
  // Eight bytes per loop turn, then the remaining zero to seven bytes one at a time.
  const blockEnd = start + ((end - start) & ~7);
  if (blockEnd > start) {
    const words = viewOf(bytes);
    while (i < blockEnd) {
      const lo = crc ^ words.getInt32(i, true);
      const hi = words.getInt32(i + 4, true);
      crc =
        t[7 * 256 + (lo & 0xff)]! ^
        t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
        t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
        t[4 * 256 + (lo >>> 24)]! ^
        t[3 * 256 + (hi & 0xff)]! ^
        t[2 * 256 + ((hi >>> 8) & 0xff)]! ^
        t[256 + ((hi >>> 16) & 0xff)]! ^
        t[hi >>> 24]!;
      i += 8;
    }
  }
  while (i < end) crc = (crc >>> 8) ^ t[(crc ^ bytes[i++]!) & 0xff]!;
  return ~crc >>> 0;
}
