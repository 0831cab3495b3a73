import {
  AUDIT_RECORD_FIELDS,
  type AuditDecoders,
  type AuditEvent,
  type AuditRecordType,
  DEFAULT_AUDIT_DECODERS,
  decodeAuditRecord,
  FIELD_A,
  FIELD_B,
  FIELD_CODE,
  FIELD_GENERATION,
  FIELD_PARAM,
  FIELD_PROPOSAL,
  FIELD_SEQ,
  FIELD_TIME,
  FIELD_TYPE,
} from "./events.js";

/** Default number of records an {@link AuditRing} holds. */
export const DEFAULT_AUDIT_CAPACITY = 4096;

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
  /** Parameter names in registry order, to add `paramName` to violation events. */
  readonly paramNames?: readonly string[];
  /** Decoders for codes defined outside the audit module (defaults: {@link DEFAULT_AUDIT_DECODERS}). */
  readonly decoders?: Partial<AuditDecoders>;
}

/**
 * A fixed-capacity queue of numeric audit records, written on the hot path without allocation
 * and drained (decoded into {@link AuditEvent}s) on a cold path.
 *
 * @remarks
 * Storage is one Float64Array of `capacity × 9` slots, allocated once. When the ring is full a
 * write is refused and counted in {@link AuditRing.dropped}: the ring never blocks and never
 * overwrites unread records. The control-safety layer watches {@link AuditRing.aboveHighWater}
 * and `dropped` to stop adaptation before records are lost.
 *
 * Sequence numbers: every write attempt takes the next number, from 1, whether it is stored or
 * dropped. Drained events are therefore in increasing `seq` order, and a gap in the numbers
 * shows exactly where records were lost.
 *
 * Performance: `write` is O(1), allocation-free and never throws.
 */
export class AuditRing {
  // Fields set in the constructor are `declare`d so that V8 keeps their exact types (a plain
  // declaration first defines them as undefined, and every write would re-check them).
  /** Run id stamped on drained events. */
  declare readonly runId: string;
  /** Most records held at once. */
  declare readonly capacity: number;
  /** The size at or above which {@link AuditRing.aboveHighWater} is true. */
  declare readonly highWaterMark: number;
  declare private readonly records: Float64Array;
  // Notes are rare (cold-path annotations); slots are cleared when their record leaves the ring.
  declare private readonly notes: (string | undefined)[];
  declare private readonly decodeContext: {
    readonly runId: string;
    readonly decoders: AuditDecoders;
    readonly paramNames: readonly string[] | undefined;
  };
  private head = 0;
  private count = 0;
  private nextSeq = 1;
  private droppedCount = 0;
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
    this.runId = options.runId;
    this.capacity = capacity;
    this.highWaterMark = highWaterMark;
    this.records = new Float64Array(capacity * AUDIT_RECORD_FIELDS);
    this.notes = new Array<string | undefined>(capacity).fill(undefined);
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

  /** Sequence number of the latest write attempt (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Appends one record. See {@link AuditRecordType} for what `code`, `param`, `a` and `b` mean
   * for each type.
   *
   * @returns true when stored; false when the ring was full (the record is dropped and counted,
   * its sequence number is used up).
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
    const seq = this.nextSeq++;
    if (this.count === this.capacity) {
      this.droppedCount++;
      this.lastStoredSlot = -1;
      return false;
    }
    let slot = this.head + this.count;
    if (slot >= this.capacity) slot -= this.capacity;
    const at = slot * AUDIT_RECORD_FIELDS;
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
    return true;
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
        slot * AUDIT_RECORD_FIELDS,
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
    return slot >= this.capacity ? slot - this.capacity : slot;
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
