import type { AuditEvent } from "../audit/events.js";

/**
 * The audit events a replayed engine wrote, by seq (a run numbers them 1, 2, … from its start).
 *
 * @remarks
 * An array sized for the run's logged events rather than a `Map`: a `Map` rehashes every entry when
 * it outgrows its table, which at a quarter of a million events held the event loop for about 20
 * ms in one go.
 */
export class ProducedEvents {
  private readonly bySeq: (AuditEvent | undefined)[];
  private highest = 0;

  /** `expected`: how many events the run logged (the array grows past it if the replay writes more). */
  constructor(expected: number) {
    this.bySeq = new Array(expected + 1);
  }

  /** Records `event`, replacing any earlier one with its seq. */
  add(event: AuditEvent): void {
    this.bySeq[event.seq] = event;
    if (event.seq > this.highest) this.highest = event.seq;
  }

  /** The event written with `seq`, or undefined. */
  get(seq: number): AuditEvent | undefined {
    return this.bySeq[seq];
  }

  /** The seqs written above `seq`, ascending. */
  seqsAbove(seq: number): number[] {
    const out: number[] = [];
    for (let s = Math.max(0, Math.floor(seq)) + 1; s <= this.highest; s++)
      if (this.bySeq[s] !== undefined) out.push(s);
    return out;
  }

  /** The event with the highest seq written, if any. */
  last(): AuditEvent | undefined {
    return this.highest === 0 ? undefined : this.bySeq[this.highest];
  }
}
