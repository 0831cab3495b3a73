import * as sharedLayout from "./shared-live-config.js";
import { SHARED_HEADER_BYTES, type SharedLiveConfigHandle, sharedByteLength } from "./shared-live-config.js";

// A module-local copy for `write`: V8 (Node 20) reads an imported binding through a cell, checking
// that it is initialised, at every use, but folds a local const.
const { SEQLOCK_WORD } = sharedLayout;

/**
 * Above this many values a bulk `set` copies with less work than an element loop. Under V8 (Node
 * 20) a loop writing two arrays costs about 48 instructions per value (each access re-checks its
 * array), a `set` about 180 whatever the size up to a few hundred values (counted with callgrind).
 */
const BULK_COPY_THRESHOLD = 8;

/** Copies `size` values from `source` into `target` (same length). */
function copy(target: Float64Array, source: Float64Array, size: number): void {
  if (size > BULK_COPY_THRESHOLD) target.set(source);
  else for (let i = 0; i < size; i++) target[i] = source[i]!;
}

/** How a {@link LiveConfig} stores its values. */
export interface LiveConfigOptions {
  /**
   * Back the values, the generation and a seqlock word by a SharedArrayBuffer so that worker
   * threads can read them consistently with `readShared(handle, out)` (default false).
   */
  readonly shared?: boolean;
}

/**
 * The live parameter vector of an engine: raw units, registry order, one preallocated
 * Float64Array, a monotonic generation and a baseline to roll back to.
 *
 * @remarks
 * The generation starts at 0 and every {@link LiveConfig.write} adds 1; it is never reused, so a
 * digest stamped with a generation names exactly one vector. The only writer is the Tier-1
 * executor. The store itself ({@link LiveConfig.values}) stays inside the engine; readers outside
 * it get copies that every write refreshes: {@link LiveConfig.mirror} in this thread, the shared
 * buffer of {@link LiveConfig.handle} in others. Writing into a copy changes nothing live, and the
 * next write overwrites it, so no reader can move the live point around Tier 1 and its audit.
 *
 * Performance: `commitMirror` copies `size` doubles from the mirror into the store and bumps a
 * counter, `write` first copies its argument into the mirror — no allocation, no exceptions; in
 * shared mode each adds one more copy and two atomic stores (the seqlock).
 */
export class LiveConfig {
  // Fields set in the constructor are `declare`d so that V8 keeps their exact types (a plain
  // declaration first defines them as undefined, and typed-array loops then re-check them).
  /** Number of parameters. */
  declare readonly size: number;
  /**
   * The live values, raw units, registry order: the store itself, for the engine's own code. Write
   * only through {@link LiveConfig.write} (the executor); never hand it out (see {@link mirror}).
   */
  declare readonly values: Float64Array;
  /**
   * A copy of the live values for readers (`engine.values`), rewritten by every write. Writing
   * into it changes nothing live; the next write overwrites it. The executor also stages a target
   * in it during an apply (a synchronous call, so no reader sees it): the apply then ends with
   * {@link LiveConfig.commitMirror} or {@link LiveConfig.restoreMirror}.
   */
  declare readonly mirror: Float64Array;
  /** Transferable description of the shared buffer, or `undefined` when not shared. */
  declare readonly handle: SharedLiveConfigHandle | undefined;
  declare private readonly baselineValues: Float64Array;
  private currentGeneration = 0;
  private baselineAt = -1;
  // Shared mode only (empty views otherwise, so the fields keep one shape).
  declare private readonly shared: boolean;
  declare private readonly words: Int32Array;
  declare private readonly slots: Float64Array;
  /** The values in the shared buffer, what other threads read (empty when not shared). */
  declare private readonly published: Float64Array;
  private sequence = 0;

  /**
   * @param initial - Starting values (raw units, registry order); copied. Generation 0.
   * @param options - `{ shared: true }` to back the values by a SharedArrayBuffer.
   */
  constructor(initial: ArrayLike<number>, options: LiveConfigOptions = {}) {
    const size = initial.length;
    this.size = size;
    this.shared = options.shared === true;
    if (this.shared) {
      const buffer = new SharedArrayBuffer(sharedByteLength(size));
      this.words = new Int32Array(buffer, 0, 2);
      this.slots = new Float64Array(buffer, 8, size + 1);
      this.published = new Float64Array(buffer, SHARED_HEADER_BYTES, size);
      this.handle = { buffer, size };
    } else {
      this.words = new Int32Array(0);
      this.slots = new Float64Array(0);
      this.published = new Float64Array(0);
      this.handle = undefined;
    }
    this.values = new Float64Array(size);
    this.mirror = new Float64Array(size);
    for (let i = 0; i < size; i++) this.values[i] = initial[i]!;
    this.mirror.set(this.values);
    if (this.shared) this.published.set(this.values);
    this.baselineValues = new Float64Array(size);
  }

  /** Generation of the current values: 0 at construction, +1 per write. */
  get generation(): number {
    return this.currentGeneration;
  }

  /** Whether {@link LiveConfig.setBaseline} has been called. */
  get hasBaseline(): boolean {
    return this.baselineAt >= 0;
  }

  /** Generation at which the baseline was taken, or −1 when there is none. */
  get baselineGeneration(): number {
    return this.baselineAt;
  }

  /**
   * The baseline values (raw units, registry order; all 0 until a baseline is set). A view of
   * internal storage: read it, do not write it.
   */
  get baseline(): Float64Array {
    return this.baselineValues;
  }

  /**
   * Remembers the current values and generation as the baseline (replacing any earlier one), or
   * `values` instead of the current ones: a known-good point the engine does not stand at.
   */
  setBaseline(values: ArrayLike<number> = this.values): void {
    for (let i = 0; i < this.size; i++) this.baselineValues[i] = values[i]!;
    this.baselineAt = this.currentGeneration;
  }

  /**
   * Replaces the live values with `next` and bumps the generation.
   *
   * @param next - New values, raw units, registry order; its length must equal {@link LiveConfig.size}.
   * @returns The new generation, or −1 (nothing written) when `next` has the wrong length.
   *
   * @remarks
   * Hot path: no allocation, no exceptions. It does not validate values — that is the executor's
   * job, and the executor is the only caller.
   */
  write(next: Float64Array): number {
    if (next.length !== this.size) return -1;
    copy(this.mirror, next, this.size);
    return this.commitMirror();
  }

  /**
   * Makes the values staged in {@link LiveConfig.mirror} the live values and bumps the
   * generation: the executor maps a validated target straight into the mirror (no reader runs
   * while it does, the apply being synchronous), so an apply copies once instead of twice.
   *
   * @returns The new generation.
   */
  commitMirror(): number {
    const size = this.size;
    const generation = this.currentGeneration + 1;
    const values = this.values;
    copy(values, this.mirror, size);
    if (this.shared) {
      const words = this.words;
      // Odd word: readers retry until the matching even store below.
      this.sequence = (this.sequence + 1) | 0;
      Atomics.store(words, SEQLOCK_WORD, this.sequence);
      this.slots[0] = generation;
      copy(this.published, values, size);
      this.sequence = (this.sequence + 1) | 0;
      Atomics.store(words, SEQLOCK_WORD, this.sequence);
    }
    this.currentGeneration = generation;
    return generation;
  }

  /** Puts the live values back into the mirror after a staged target was refused. */
  restoreMirror(): void {
    copy(this.mirror, this.values, this.size);
  }

  /**
   * Writes the baseline values as a NEW generation (a rollback never reuses the baseline's
   * generation number).
   *
   * @returns The new generation, or −1 (nothing written) when there is no baseline.
   */
  restoreBaseline(): number {
    if (this.baselineAt < 0) return -1;
    return this.write(this.baselineValues);
  }
}
