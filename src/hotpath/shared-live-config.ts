/**
 * The memory layout of a live config shared with other threads through a SharedArrayBuffer, and
 * the lock-free reader for it.
 *
 * @remarks
 * This module imports nothing, so a worker thread can load it on its own.
 *
 * Layout (little-endian, as the host's typed arrays):
 *
 * | bytes      | view             | content                                        |
 * |------------|------------------|------------------------------------------------|
 * | 0–3        | Int32 word 0     | seqlock word: odd while a write is in progress |
 * | 4–7        | Int32 word 1     | reserved (0)                                   |
 * | 8–15       | Float64 slot 0   | generation of the values below                 |
 * | 16–16+8n   | Float64 slots 1… | the live values, raw units, registry order     |
 *
 * The single writer (the executor, through `LiveConfig.write`) makes the seqlock word odd, writes
 * the generation and the values, then makes the word even again. A reader copies the generation
 * and values between two reads of the word and keeps the copy only if the word was even and
 * unchanged; otherwise it tries again. Writers never wait for readers.
 */

/** Bytes before the first live value: seqlock word, reserved word, generation. */
export const SHARED_HEADER_BYTES = 16;

/** Index of the seqlock word in an Int32Array over the whole buffer. */
export const SEQLOCK_WORD = 0;

/**
 * What another thread needs to read a shared live config: post it to a worker with
 * `postMessage` or `workerData` (the buffer is shared, not copied).
 */
export interface SharedLiveConfigHandle {
  /** Seqlock word, generation and values, laid out as described in this module. */
  readonly buffer: SharedArrayBuffer;
  /** Number of parameters (values) in the buffer. */
  readonly size: number;
}

/** Bytes needed for a shared live config of `size` parameters. */
export function sharedByteLength(size: number): number {
  return SHARED_HEADER_BYTES + 8 * size;
}

// One-entry cache of the views over the last buffer read, so repeated reads of the same handle
// create no typed arrays. A reader thread usually follows one config; switching buffers only
// costs two view allocations.
let cachedBuffer: SharedArrayBuffer | undefined;
let cachedWords: Int32Array = new Int32Array(0);
let cachedSlots: Float64Array = new Float64Array(0);

/**
 * Copies a consistent snapshot of a shared live config into `out` and returns its generation.
 *
 * @param handle - From `LiveConfig.handle` (possibly received by a worker).
 * @param out - Receives the values, raw units, registry order; must hold at least `handle.size`.
 * @returns The generation the copied values belong to.
 *
 * @remarks
 * Lock-free: the reader retries while a write is in progress (seqlock word odd) or when a write
 * happened during the copy (word changed), so `out` never mixes two generations. Writes are
 * short and rare (at most the rate limit per second), so a read retries at most a handful of
 * times in practice. Allocation-free after the first read of a given buffer; never throws.
 */
export function readShared(handle: SharedLiveConfigHandle, out: Float64Array): number {
  const buffer = handle.buffer;
  if (buffer !== cachedBuffer) {
    cachedBuffer = buffer;
    cachedWords = new Int32Array(buffer, 0, 2);
    cachedSlots = new Float64Array(buffer, 8);
  }
  const words = cachedWords;
  const slots = cachedSlots;
  const size = handle.size;
  for (;;) {
    const before = Atomics.load(words, SEQLOCK_WORD);
    if ((before & 1) === 0) {
      const generation = slots[0]!;
      for (let i = 0; i < size; i++) out[i] = slots[i + 1]!;
      // The Atomics load orders the plain reads above before it; an unchanged even word means no
      // write overlapped the copy.
      if (Atomics.load(words, SEQLOCK_WORD) === before) return generation;
    }
  }
}
