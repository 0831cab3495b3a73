/** The audit records missing from a run of a decision log, found as its records are read. */
import type { MissingRecords } from "./replay.js";

/**
 * The gaps in a run's audit sequence (see `MissingRecords`), each with its cause as far as the log
 * tells: records were removed where the log's own seqs jump between two records, a full ring
 * dropped them where the log's seqs run on, unknown where a record carries no log seq.
 */
export class RunGaps {
  readonly all: MissingRecords[] = [];
  private expected = 1;
  // Since the run's last event (or its start): whether the log's own seqs jumped between two
  // records, and whether a record carried none.
  private jumped = false;
  private unknown = false;

  /** Two consecutive records of the log, by their log seqs. */
  pair(before: number | undefined, seq: number | undefined): void {
    if (before === undefined || seq === undefined) this.unknown = true;
    else if (seq !== before + 1) this.jumped = true;
  }

  /** Why records are missing since the last event: removed where the log's seqs jump, else a full ring where they are known. */
  cause(): MissingRecords["cause"] {
    return this.jumped ? "removed" : this.unknown ? "unknown" : "ring";
  }

  /** The run's next event, by its audit seq. */
  event(seq: number): void {
    if (seq > this.expected) this.all.push({ from: this.expected, to: seq - 1, cause: this.cause() });
    if (seq >= this.expected) this.expected = seq + 1;
    this.jumped = false;
    this.unknown = false;
  }

  /** The gaps that start before `seq`. */
  before(seq: number): MissingRecords[] {
    return this.all.filter((gap) => gap.from < seq);
  }
}
