import * as events from "./events.js";
import {
  type AuditDecodeContext,
  type AuditDecoders,
  type AuditEvent,
  type AuditRecordType,
  DEFAULT_AUDIT_DECODERS,
  decodeAuditRecord,
} from "./events.js";

// The record layout as module-local constants. V8 (Node 20) reads an imported binding through a
// cell, checking that it is initialised, at every use, but folds a local const into the code: on
// the write paths (every apply, digest and violation) that saves about eight instructions a field.
const {
  AUDIT_HEADER_FIELDS,
  DIGEST_SLOT_CONSTRAINT_MARGIN,
  DIGEST_SLOT_ERROR_RATE,
  DIGEST_SLOT_LATENCY_P99,
  DIGEST_SLOT_THROUGHPUT,
  DIGEST_SLOT_TIMESTAMP,
  DIGEST_SLOTS,
  FIELD_A,
  FIELD_B,
  FIELD_CODE,
  FIELD_GENERATION,
  FIELD_PARAM,
  FIELD_PROPOSAL,
  FIELD_SEQ,
  FIELD_TIME,
  FIELD_TYPE,
  FIELD_VECTOR,
  VECTOR_LENGTH_UNIT,
} = events;

/**
 * The records a ring keeps its reserve for (see {@link AuditRing.reserveFrom}), one bit per
 * {@link AuditRecordType}: what the engine and its operator did (applies, Tier 1's refusals,
 * rollbacks, baselines, mode changes, commands). The rest (digests, windows, decisions and
 * steps, timeouts, stalls, regime verdicts) says what the engine measured and why it moved.
 */
const CONTROL_RECORDS =
  (1 << events.AuditRecordType.Apply) |
  (1 << events.AuditRecordType.Violation) |
  (1 << events.AuditRecordType.Rollback) |
  (1 << events.AuditRecordType.BaselineSet) |
  (1 << events.AuditRecordType.ModeChanged) |
  (1 << events.AuditRecordType.Command);

/**
 * The events of the records in {@link CONTROL_RECORDS}, by `type`: what a refusing sink's backlog
 * keeps once it reaches the reserve (see `ControlSafety.deliverToSink`).
 */
export const CONTROL_EVENT_TYPES: ReadonlySet<AuditEvent["type"]> = new Set([
  "apply",
  "violation",
  "rollback",
  "baseline.set",
  "mode.changed",
  "command",
]);

/** Default number of records an {@link AuditRing} holds. */
export const DEFAULT_AUDIT_CAPACITY = 4096;

/** Records an {@link AuditRing} has room for before its first growth (at most its capacity). */
export const INITIAL_AUDIT_SLOTS = 16;

/** Default high-water mark as a fraction of the capacity. */
export const DEFAULT_HIGH_WATER_FRACTION = 0.8;

/** How to build an {@link AuditRing}. */
export interface AuditRingOptions {
  /** Run id stamped on every drained event. */
  readonly runId: string;
  /** Records held before new ones are dropped (whole number ≥ 1; default 4096). */
  readonly capacity?: number;
  /** Size at which {@link AuditRing.aboveHighWater} turns true (1…capacity; default 80 % of capacity, at least 1). */
  readonly highWaterMark?: number;
  /** Parameter names in registry order: `paramName` on violation events, keys of decoded vectors. */
  readonly paramNames?: readonly string[];
  /**
   * Longest vector a record carries (default: the number of `paramNames`, else 0). Every record
   * has `max(vectorWidth, 5)` vector slots after its 9 fixed ones, 5 being what a captured digest
   * needs.
   */
  readonly vectorWidth?: number;
  /** Decoders for codes defined outside the audit module (defaults: {@link DEFAULT_AUDIT_DECODERS}). */
  readonly decoders?: Partial<AuditDecoders>;
}

/**
 * A fixed-capacity queue of numeric audit records, written on the hot path without allocation
 * and drained (decoded into {@link AuditEvent}s) on a cold path.
 *
 * @remarks
 * Storage is one Float64Array of `slots × recordWidth` numbers, where `recordWidth` is 9 fixed
 * fields plus `max(d, 5)` vector slots (d = parameters). It starts with room for
 * {@link INITIAL_AUDIT_SLOTS} records and doubles when a write finds it full, up to `capacity`
 * (so an idle engine does not hold a full-size ring, and a busy one stops allocating once its
 * ring has grown to what its drain cadence needs). When the ring holds `capacity` records a
 * write is refused and counted in {@link AuditRing.dropped}: the ring never blocks and never
 * overwrites unread records. The control-safety layer watches {@link AuditRing.aboveHighWater}
 * and `dropped` to stop adaptation before records are lost. The last records' room can be kept
 * for control records ({@link AuditRing.reserveFrom}): other writes are then refused earlier.
 *
 * Sequence numbers: every write attempt takes the next number, from 1, whether it is stored or
 * dropped. Drained events are therefore in increasing `seq` order, and a gap in the numbers
 * shows exactly where records were lost.
 *
 * Performance: `write` is O(1), `writeVector` and `attachVector` O(d) and `writeDigest` O(1); all
 * are allocation-free and never throw. Copying a vector costs about 2 ns per entry up to 8
 * entries and a fixed ~15–20 ns above (measured on the B3 machine).
 */
/**
 * A consumer that takes the records pending in a ring as they are, without decoding them (a
 * decision log copies their numbers). It reads records 0 … `ring.size − 1` through
 * {@link AuditRing.storage}; the engine removes them afterwards. Throwing refuses them: they stay
 * in the ring and are offered again.
 */
export type AuditRecordSink = (ring: AuditRing) => void;

/** The numbers of a digest as the engine read them (absent fields NaN). */
export interface DigestValues {
  readonly objective: number;
  readonly generation: number;
  readonly timestamp: number;
  readonly constraintMargin: number;
  readonly latencyP99: number;
  readonly throughput: number;
  readonly errorRate: number;
}

export class AuditRing {
  // Fields set in the constructor are `declare`d so that V8 keeps their exact types (a plain
  // declaration first defines them as undefined, and every write would re-check them).
  /** Run id stamped on drained events. */
  declare readonly runId: string;
  /** Most records held at once. */
  declare readonly capacity: number;
  /** The size at or above which {@link AuditRing.aboveHighWater} is true. */
  declare readonly highWaterMark: number;
  /** Vector slots per record (the longest vector `writeVector` stores; at least 5). */
  declare readonly vectorSlots: number;
  /** Float64 slots per record: 9 fixed fields + {@link AuditRing.vectorSlots}. */
  declare readonly recordWidth: number;
  // Both grow (see grow()); `slots` is how many records they have room for now.
  declare private records: Float64Array;
  // Notes are rare (cold-path annotations); slots are cleared when their record leaves the ring.
  declare private notes: (string | undefined)[];
  declare private slots: number;
  declare private readonly decodeContext: AuditDecodeContext;
  /**
   * Where a caller writes the time of the digest record {@link AuditRing.writeDigestInput} writes
   * next: a number passed as an argument of a call V8 does not inline is boxed (16 bytes per
   * digest), a store into a Float64Array never is.
   */
  declare readonly timeIn: Float64Array;
  private head = 0;
  private count = 0;
  private nextSeq = 1;
  private droppedCount = 0;
  /** Records held from which only control records are stored, as set (capacity: no reserve). */
  private controlFrom: number;
  /** The records kept for control at the top of the room: capacity − controlFrom. */
  private reserve = 0;
  /**
   * Where only control records are stored now: `controlFrom`, or, once growth failed, the same
   * reserve below the room the ring has.
   */
  private limit: number;
  /** Records held at which the ring grows: as it enters its reserve, so that a failed growth still leaves it. */
  private growAt: number;
  /** The last growth failed for want of memory (cleared by one that succeeds). */
  private starved = false;
  private peakCount = 0;
  private lastStoredSlot = -1;

  /** @throws RangeError when `capacity` or `highWaterMark` is not a whole number in range. */
  constructor(options: AuditRingOptions) {
    const capacity = options.capacity ?? DEFAULT_AUDIT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`audit capacity must be a whole number ≥ 1, got ${capacity}`);
    }
    const highWaterMark =
      options.highWaterMark ?? Math.max(1, Math.floor(capacity * DEFAULT_HIGH_WATER_FRACTION));
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1 || highWaterMark > capacity) {
      throw new RangeError(
        `audit high-water mark must be a whole number in [1, ${capacity}], got ${highWaterMark}`,
      );
    }
    const vectorWidth = options.vectorWidth ?? options.paramNames?.length ?? 0;
    if (!Number.isInteger(vectorWidth) || vectorWidth < 0 || vectorWidth >= VECTOR_LENGTH_UNIT) {
      throw new RangeError(
        `audit vector width must be a whole number in [0, ${VECTOR_LENGTH_UNIT - 1}], got ${vectorWidth}`,
      );
    }
    this.runId = options.runId;
    this.capacity = capacity;
    this.highWaterMark = highWaterMark;
    this.vectorSlots = Math.max(vectorWidth, DIGEST_SLOTS);
    this.recordWidth = AUDIT_HEADER_FIELDS + this.vectorSlots;
    this.controlFrom = capacity;
    this.limit = capacity;
    this.slots = Math.min(capacity, INITIAL_AUDIT_SLOTS);
    this.growAt = this.slots === capacity ? Number.POSITIVE_INFINITY : this.slots;
    this.records = new Float64Array(this.slots * this.recordWidth);
    this.notes = new Array<string | undefined>(this.slots).fill(undefined);
    this.timeIn = new Float64Array(1);
    this.decodeContext = {
      runId: options.runId,
      decoders: { ...DEFAULT_AUDIT_DECODERS, ...options.decoders },
      paramNames: options.paramNames,
    };
  }

  /** Records waiting to be drained. */
  get size(): number {
    return this.count;
  }

  /** Write attempts refused because the ring was full (since construction). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Largest {@link AuditRing.size} ever reached. */
  get peak(): number {
    return this.peakCount;
  }

  /** Whether the ring holds at least {@link AuditRing.highWaterMark} records. */
  get aboveHighWater(): boolean {
    return this.count >= this.highWaterMark;
  }

  /**
   * True while the ring is in its reserve below its capacity because the memory to grow could not
   * be had: as full as at its full mark for whoever watches it (the control-safety layer freezes
   * the engine); control records still have the reserve. False again once a drain takes it below.
   */
  get outOfMemory(): boolean {
    return this.starved && this.count >= this.limit;
  }

  /**
   * Keeps the room from `size` records held on for control records (applies, violations,
   * rollbacks, baseline sets, mode changes, commands): from there any other write is refused,
   * counted in {@link AuditRing.dropped} and its sequence number used up, as at capacity. A ring
   * its reader cannot empty (a sink that is down) then still records what the engine and its
   * operator do after it filled with windows and digests.
   *
   * @throws RangeError when `size` is not a whole number in [0, capacity].
   */
  reserveFrom(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.capacity) {
      throw new RangeError(
        `audit reserve must start at a whole number in [0, ${this.capacity}], got ${size}`,
      );
    }
    this.controlFrom = size;
    this.reserve = this.capacity - size;
    this.limit = this.starved ? Math.min(size, Math.max(0, this.slots - this.reserve)) : size;
    if (this.slots < this.capacity) this.growAt = Math.max(0, this.slots - this.reserve);
  }

  /** Records held from which only control records are stored (the capacity when there is no reserve). */
  get reserveStart(): number {
    return this.controlFrom;
  }

  /** Sequence number of the latest write attempt (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Appends one record. See {@link AuditRecordType} for what `code`, `param`, `a` and `b` mean
   * for each type.
   *
   * @returns true when stored; false when the ring was full, or in its reserve and the record no
   * control record ({@link AuditRing.reserveFrom}): the record is dropped and counted, its
   * sequence number is used up.
   *
   * @remarks
   * Hot path: O(1), no allocation, never throws.
   */
  write(
    type: AuditRecordType,
    time: number,
    generation: number,
    proposalId: number,
    code: number,
    param: number,
    a: number,
    b: number,
  ): boolean {
    return this.store(type, time, generation, proposalId, code, param, a, b) >= 0;
  }

  /**
   * Appends one record whose vector slots hold `vector` (one entry per parameter in registry
   * order: applied raw values, a gradient estimate, a step). Entries beyond
   * {@link AuditRing.vectorSlots} are not stored.
   *
   * @returns true when stored; false when the ring was full (dropped and counted, as {@link AuditRing.write}).
   *
   * @remarks
   * Hot path: O(d), no allocation, never throws.
   */
  writeVector(
    type: AuditRecordType,
    time: number,
    generation: number,
    proposalId: number,
    code: number,
    param: number,
    a: number,
    b: number,
    vector: ArrayLike<number>,
  ): boolean {
    const at = this.store(type, time, generation, proposalId, code, param, a, b);
    if (at < 0) return false;
    this.records[at + FIELD_TYPE] = type + this.putVector(at, vector) * VECTOR_LENGTH_UNIT;
    return true;
  }

  /**
   * Puts `vector` into the vector slots of the record just written (e.g. the values an apply
   * wrote, added by the caller of the executor after a successful apply, which keeps the copy off
   * the executor's measured path). Returns false, storing nothing, when the last write was
   * dropped or the record has already been drained.
   *
   * @remarks
   * O(d), no allocation, never throws.
   */
  attachVector(vector: ArrayLike<number>): boolean {
    if (this.lastStoredSlot < 0) return false;
    const at = this.lastStoredSlot * this.recordWidth;
    const n = this.putVector(at, vector);
    const records = this.records;
    const slot = records[at + FIELD_TYPE]!;
    const type = slot < VECTOR_LENGTH_UNIT ? slot : slot % VECTOR_LENGTH_UNIT;
    records[at + FIELD_TYPE] = type + n * VECTOR_LENGTH_UNIT;
    return true;
  }

  /** Copies up to {@link AuditRing.vectorSlots} entries into the record at `at`; returns how many. */
  private putVector(at: number, vector: ArrayLike<number>): number {
    const n = vector.length < this.vectorSlots ? vector.length : this.vectorSlots;
    const records = this.records;
    const start = at + FIELD_VECTOR;
    // A typed-array copy has a fixed cost of ~15 ns; an element loop costs ~2 ns per entry.
    if (n > 8 && n === vector.length && vector instanceof Float64Array) records.set(vector, start);
    else for (let i = 0; i < n; i++) records[start + i] = vector[i]!;
    return n;
  }

  /**
   * Appends a digest record (`DigestAccepted`, or `DigestRejected` with the digest captured) with
   * everything needed to feed the same digest again: pass NaN for each field the digest lacked.
   *
   * @param code - 0 for an accepted digest, else its DigestRejection code.
   * @param objective - The digest's objective (NaN when not a number).
   * @param digestGeneration - The generation it claimed (NaN when not a number).
   *
   * @remarks
   * O(1), no allocation, never throws (digest path, not the apply path).
   */
  writeDigest(
    type: AuditRecordType,
    time: number,
    generation: number,
    proposalId: number,
    code: number,
    objective: number,
    digestGeneration: number,
    timestamp: number,
    constraintMargin: number,
    latencyP99: number,
    throughput: number,
    errorRate: number,
  ): boolean {
    const at = this.store(type, time, generation, proposalId, code, -1, objective, digestGeneration);
    if (at < 0) return false;
    const records = this.records;
    const v = at + FIELD_VECTOR;
    records[v + DIGEST_SLOT_TIMESTAMP] = timestamp;
    records[v + DIGEST_SLOT_CONSTRAINT_MARGIN] = constraintMargin;
    records[v + DIGEST_SLOT_LATENCY_P99] = latencyP99;
    records[v + DIGEST_SLOT_THROUGHPUT] = throughput;
    records[v + DIGEST_SLOT_ERROR_RATE] = errorRate;
    records[at + FIELD_TYPE] = type + DIGEST_SLOTS * VECTOR_LENGTH_UNIT;
    return true;
  }

  /**
   * {@link writeDigest} with the digest's numbers read from `f` (the engine's once-read copy).
   */
  writeDigestFields(
    type: AuditRecordType,
    time: number,
    generation: number,
    proposalId: number,
    code: number,
    f: DigestValues,
  ): boolean {
    this.timeIn[0] = time;
    return this.writeDigestInput(type, generation, proposalId, code, f);
  }

  /**
   * {@link writeDigestFields} with the time the caller wrote to `timeIn[0]` (the engine's digest
   * path: no number crosses the call, so none is boxed whether or not V8 inlines it).
   */
  writeDigestInput(
    type: AuditRecordType,
    generation: number,
    proposalId: number,
    code: number,
    f: DigestValues,
  ): boolean {
    const at = this.storeAt(type, generation, proposalId, code);
    if (at < 0) return false;
    const records = this.records;
    records[at + FIELD_TIME] = this.timeIn[0]!;
    records[at + FIELD_A] = f.objective;
    records[at + FIELD_B] = f.generation;
    const v = at + FIELD_VECTOR;
    records[v + DIGEST_SLOT_TIMESTAMP] = f.timestamp;
    records[v + DIGEST_SLOT_CONSTRAINT_MARGIN] = f.constraintMargin;
    records[v + DIGEST_SLOT_LATENCY_P99] = f.latencyP99;
    records[v + DIGEST_SLOT_THROUGHPUT] = f.throughput;
    records[v + DIGEST_SLOT_ERROR_RATE] = f.errorRate;
    records[at + FIELD_TYPE] = type + DIGEST_SLOTS * VECTOR_LENGTH_UNIT;
    return true;
  }

  /** {@link store} of the integer fields only (param −1); the caller writes time, a and b. */
  private storeAt(type: AuditRecordType, generation: number, proposalId: number, code: number): number {
    return this.store(type, 0, generation, proposalId, code, -1, 0, 0);
  }

  /**
   * Stores the fixed fields of a record; returns its offset, or −1 when the ring was full (or in
   * its reserve, and the record no control record).
   */
  private store(
    type: AuditRecordType,
    time: number,
    generation: number,
    proposalId: number,
    code: number,
    param: number,
    a: number,
    b: number,
  ): number {
    const seq = this.nextSeq++;
    // Far from its room (every write but those of an undrained ring) two compares decide.
    if (this.count >= this.growAt) this.grow();
    if ((this.count >= this.limit && ((CONTROL_RECORDS >>> type) & 1) === 0) || this.count === this.slots) {
      this.droppedCount++;
      this.lastStoredSlot = -1;
      return -1;
    }
    let slot = this.head + this.count;
    if (slot >= this.slots) slot -= this.slots;
    const at = slot * this.recordWidth;
    const records = this.records;
    records[at + FIELD_SEQ] = seq;
    records[at + FIELD_TYPE] = type;
    records[at + FIELD_TIME] = time;
    records[at + FIELD_GENERATION] = generation;
    records[at + FIELD_PROPOSAL] = proposalId;
    records[at + FIELD_CODE] = code;
    records[at + FIELD_PARAM] = param;
    records[at + FIELD_A] = a;
    records[at + FIELD_B] = b;
    this.count++;
    if (this.count > this.peakCount) this.peakCount = this.count;
    this.lastStoredSlot = slot;
    return at;
  }

  /**
   * Sets the time of the pending records of type `type` with sequence numbers from `seq` on
   * (written moments ago, with a time known only later). O(records written since).
   */
  setTimesFrom(seq: number, type: AuditRecordType, time: number): void {
    const records = this.records;
    for (let k = this.count - 1; k >= 0; k--) {
      const at = this.slotAt(k) * this.recordWidth;
      if (records[at + FIELD_SEQ]! < seq) return;
      if (records[at + FIELD_TYPE]! % VECTOR_LENGTH_UNIT === type) records[at + FIELD_TIME] = time;
    }
  }

  /**
   * Attaches free text to the record just written (cold path: e.g. the reason given to a manual
   * rollback). Returns false, attaching nothing, when the last write was dropped or the record
   * has already been drained.
   */
  annotateLast(note: string): boolean {
    if (this.lastStoredSlot < 0) return false;
    this.notes[this.lastStoredSlot] = note;
    return true;
  }

  /**
   * Sets the `param` field of the record just written (cold path: e.g. what made a captured digest
   * malformed). Returns false, setting nothing, when the last write was dropped or the record has
   * already been drained.
   */
  setLastParam(param: number): boolean {
    if (this.lastStoredSlot < 0) return false;
    this.records[this.lastStoredSlot * this.recordWidth + FIELD_PARAM] = param;
    return true;
  }

  /**
   * The storage the pending records lie in, for consumers that copy them without decoding (a
   * decision log): record k (0 = oldest pending, k < {@link AuditRing.size}) starts at
   * {@link AuditRing.offsetOf}(k) and spans {@link AuditRing.recordWidth} numbers. Valid until the
   * next write (which may grow the ring into a new array).
   */
  get storage(): Float64Array {
    return this.records;
  }

  /** Offset in {@link AuditRing.storage} of pending record `k` (0 = oldest). */
  offsetOf(k: number): number {
    return this.slotAt(k) * this.recordWidth;
  }

  /** The note attached to pending record `k` (0 = oldest), if any. */
  noteOf(k: number): string | undefined {
    return this.notes[this.slotAt(k)];
  }

  /** What records are decoded against: run id, decoders and parameter names. */
  get decoding(): AuditDecodeContext {
    return this.decodeContext;
  }

  /**
   * Removes up to `limit` of the oldest records and returns them decoded, oldest first.
   *
   * @remarks
   * Cold path: allocates one object per event.
   */
  drain(limit: number = this.count): AuditEvent[] {
    const take = this.takeCount(limit);
    const events: AuditEvent[] = new Array(take);
    for (let k = 0; k < take; k++) {
      const slot = this.slotAt(k);
      events[k] = decodeAuditRecord(
        this.records,
        slot * this.recordWidth,
        this.decodeContext,
        this.notes[slot],
      );
    }
    this.release(take);
    return events;
  }

  /**
   * Removes up to `limit` of the oldest records without decoding them; returns how many.
   *
   * @remarks
   * Allocation-free: for consumers that shed audit load deliberately, and for benchmarks.
   */
  discard(limit: number = this.count): number {
    const take = this.takeCount(limit);
    this.release(take);
    return take;
  }

  /** How many records a drain/discard of `limit` removes (a NaN or negative limit removes none). */
  private takeCount(limit: number): number {
    if (limit >= this.count) return this.count;
    return limit > 0 ? Math.floor(limit) : 0;
  }

  private slotAt(k: number): number {
    const slot = this.head + k;
    return slot >= this.slots ? slot - this.slots : slot;
  }

  /**
   * Doubles the room (up to `capacity`), the held records moved to the front in order. Only as
   * the ring enters its reserve: a ring that is drained in time stops growing, and its writes stop
   * allocating. When the memory cannot be had the ring stays as it is, never throwing into the
   * caller's hot path: its reserve moves below the room it has (control records keep it, others
   * are dropped and counted) and {@link AuditRing.outOfMemory} says so; the next write there tries
   * again.
   */
  private grow(): void {
    const slots = Math.min(this.capacity, this.slots * 2);
    const width = this.recordWidth;
    let records: Float64Array;
    let notes: (string | undefined)[];
    try {
      records = new Float64Array(slots * width);
      notes = new Array<string | undefined>(slots).fill(undefined);
    } catch {
      this.starved = true;
      this.limit = Math.min(this.controlFrom, Math.max(0, this.slots - this.reserve));
      return;
    }
    this.starved = false;
    this.limit = this.controlFrom;
    this.growAt = slots === this.capacity ? Number.POSITIVE_INFINITY : Math.max(0, slots - this.reserve);
    for (let k = 0; k < this.count; k++) {
      const from = this.slotAt(k);
      records.set(this.records.subarray(from * width, (from + 1) * width), k * width);
      notes[k] = this.notes[from];
      if (from === this.lastStoredSlot) this.lastStoredSlot = k;
    }
    this.records = records;
    this.notes = notes;
    this.slots = slots;
    this.head = 0;
  }

  private release(take: number): void {
    for (let k = 0; k < take; k++) {
      const slot = this.slotAt(k);
      if (this.notes[slot] !== undefined) this.notes[slot] = undefined;
      if (slot === this.lastStoredSlot) this.lastStoredSlot = -1;
    }
    this.head = this.slotAt(take);
    this.count -= take;
  }
}
