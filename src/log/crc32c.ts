/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
 * The check value is `crc32c("123456789") === 0xE3069283`.
 *
 * Computed with lookup tables ("slicing by 8", and by 16 where the decision log's writer frames its
 * records): each step folds eight (or sixteen) input bytes into the running value with as many
 * table reads, instead of one read per byte.
 */

const POLYNOMIAL = 0x82f63b78;

/** `TABLES[k * 256 + b]`: the CRC contribution of byte `b` followed by `k` zero bytes (k < 16). */
const TABLES: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(16 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    tables[b] = c >>> 0;
  }
  for (let k = 1; k < 16; k++) {
    for (let b = 0; b < 256; b++) {
      const previous = tables[(k - 1) * 256 + b]!;
      tables[k * 256 + b] = ((previous >>> 8) ^ tables[previous & 0xff]!) >>> 0;
    }
  }
  return tables;
}

/**
 * The CRC-32C of `bytes[start, end)`, continuing from `previous` (the CRC of the bytes before, 0 to
 * start afresh), as an unsigned 32-bit number.
 *
 * @remarks
 * About one table read per input byte, eight bytes per loop turn. Half of all CRCs are ≥ 2^31 and
 * so not small integers: returned from a call V8 does not inline, such a number is boxed (16 bytes
 * on the heap). Hot paths that store the CRC into a buffer use {@link crc32cBits} instead.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  return crc32cBits(bytes, start, end, previous) >>> 0;
}

/**
 * The same CRC as {@link crc32c}, as its 32 bits in a signed 32-bit integer (`crc32c(...) | 0`),
 * which V8 always returns unboxed: allocation-free. `DataView#setUint32` stores it as the
 * unsigned value.
 */
export function crc32cBits(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  const t = TABLES;
  let crc = ~previous;
  let i = start;
  // Eight bytes per loop turn, then the remaining zero to seven bytes one at a time.
  const blockEnd = start + ((end - start) & ~7);
  while (i < blockEnd) {
    const lo = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    crc =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + (hi & 0xff)]! ^
      t[2 * 256 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[(hi >>> 24) & 0xff]!;
    i += 8;
  }
  while (i < end) crc = (crc >>> 8) ^ t[(crc ^ bytes[i++]!) & 0xff]!;
  return ~crc;
}

/** {@link TABLES} read as signed 32-bit integers: no unsigned-to-double conversion per read. */
const SIGNED_TABLES = new Int32Array(TABLES.buffer);

/**
 * {@link crc32cBits} of the bytes `view[start, end)`, sixteen bytes per loop turn read four at a time
 * through the view (one load where {@link crc32cBits} combines four byte reads). For a caller that
 * holds a `DataView` of its buffer already: the decision log's writer, which computes one per
 * record (a quarter faster than eight bytes per turn on records of about 100 bytes).
 */
export function crc32cBitsOfView(view: DataView, start: number, end: number): number {
  const t = SIGNED_TABLES;
  let crc = -1;
  let i = start;
  const blockEnd = start + ((end - start) & ~15);
  while (i < blockEnd) {
    const a = crc ^ view.getInt32(i, true);
    const b = view.getInt32(i + 4, true);
    const c = view.getInt32(i + 8, true);
    const d = view.getInt32(i + 12, true);
    crc =
      t[15 * 256 + (a & 0xff)]! ^
      t[14 * 256 + ((a >>> 8) & 0xff)]! ^
      t[13 * 256 + ((a >>> 16) & 0xff)]! ^
      t[12 * 256 + (a >>> 24)]! ^
      t[11 * 256 + (b & 0xff)]! ^
      t[10 * 256 + ((b >>> 8) & 0xff)]! ^
      t[9 * 256 + ((b >>> 16) & 0xff)]! ^
      t[8 * 256 + (b >>> 24)]! ^
      t[7 * 256 + (c & 0xff)]! ^
      t[6 * 256 + ((c >>> 8) & 0xff)]! ^
      t[5 * 256 + ((c >>> 16) & 0xff)]! ^
      t[4 * 256 + (c >>> 24)]! ^
      t[3 * 256 + (d & 0xff)]! ^
      t[2 * 256 + ((d >>> 8) & 0xff)]! ^
      t[256 + ((d >>> 16) & 0xff)]! ^
      t[(d >>> 24) & 0xff]!;
    i += 16;
  }
  if (end - i >= 8) {
    const lo = crc ^ view.getInt32(i, true);
    const hi = view.getInt32(i + 4, true);
    crc =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + (hi & 0xff)]! ^
      t[2 * 256 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[(hi >>> 24) & 0xff]!;
    i += 8;
  }
  while (i < end) crc = (crc >>> 8) ^ t[(crc ^ view.getUint8(i++)) & 0xff]!;
  return ~crc;
}
