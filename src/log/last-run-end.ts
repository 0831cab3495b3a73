/**
 * Where a decision log's last run ended, read as its records come: the values it had tuned to and
 * the baseline in force. `resumePoint` reads it from a log; `createLoggedEngine` with `resume`, from
 * the records its opening verifies.
 */
import type { AuditEvent } from "../audit/events.js";
import type { EngineLogHeader } from "./log-records.js";
import { LogRunSplitter, type RunSink, type RunsEnd } from "./log-runs.js";
import type { LogEntry } from "./records.js";
import { ReplayInputError } from "./replay-input-error.js";

/** What a decision log's last run ended on: see `resumePoint`. */
export interface ResumePoint {
  /** The run it was read from (the log's last, 1-based). */
  readonly run: number;
  /**
   * The values to start from: those the run's last centre, rollback or manual apply wrote (a
   * perturbation is a probe around the centre, not a tuned point), else the values the run
   * started from (its header's `init`s: a run that changed nothing resumes where it began).
   */
  readonly values: Readonly<Record<string, number>>;
  /** The generation of that run that made `values` live (0: the values it started from). */
  readonly generation: number;
  /**
   * The baseline in force when the run ended: the live values at its last `setBaseline`, else the
   * one it started with (each parameter's `baseline`, or its `init`). Undefined when the log no
   * longer tells (a compacted log whose records before the last `setBaseline`, or before the run's
   * first change, are gone, or some of those after it): `resumedConfig` then keeps the
   * config's own.
   */
  readonly baseline: Readonly<Record<string, number>> | undefined;
}

/**
 * @internal Where the last run of a log ended, read from the records a writer's opening verifies
 * anyway (`createLoggedEngine` with `resume`): `resumePoint`'s reading without a read of its own.
 * `use` goes to the opening's scan; {@link point} answers once the log is open.
 */
export class ResumeReading {
  private readonly reader = new LastRunEnd();
  private readonly splitter = new LogRunSplitter(this.reader);
  // A record the reader refuses: thrown by point(), once the scan has verified the rest of the log
  // (damage further on is the opening's to report first), and no record is taken after it.
  private refused: ReplayInputError | undefined;

  readonly use = {
    events: (entry: LogEntry): void => {
      if (this.refused !== undefined) return;
      try {
        this.splitter.take(entry);
      } catch (error) {
        if (!(error instanceof ReplayInputError)) throw error;
        this.refused = error;
      }
    },
  };

  /**
   * Where the log's last run ended (see `resumePoint`), given the log's last seq as the opening
   * found it.
   *
   * @throws ReplayInputError as `resumePoint` does.
   */
  point(lastSeq: number): ResumePoint | undefined {
    if (this.refused !== undefined) throw this.refused;
    return this.reader.point(this.splitter.end(), lastSeq);
  }
}

/**
 * Where the last run of a log ended, read as the records come (from a `LogRunSplitter`): only the
 * run under way is held, and of it only what says where it ended (its events are not kept).
 */
export class LastRunEnd implements RunSink {
  private run: OpenRun | undefined;
  // The log seq of the record before (undefined for bare records).
  private previousSeq: number | undefined;

  record(_index: number, logSeq: number | undefined): void {
    // The writer numbers records without gaps: a jump means records were removed from the log (a
    // compaction, an edit). Records given bare carry no log seqs: nothing tells.
    const previous = this.previousSeq;
    if (this.run !== undefined && previous !== undefined && logSeq !== undefined && logSeq !== previous + 1)
      this.run.removedSinceMark = true;
    this.previousSeq = logSeq;
  }

  startRun(run: number, _start: number, header: EngineLogHeader): void {
    this.run = new OpenRun(run, header);
  }

  event(event: AuditEvent): void {
    this.run!.event(event);
  }

  timing(): void {}

  close(_index: number, generation: number | undefined): void {
    this.run!.closeGeneration = generation;
  }

  failure(): void {}

  /**
   * Where the log's last run ended, once every record is taken; `lastSeq`: the log's last seq, when
   * the reader knows it (see `DecisionLogContents.lastSeq`).
   */
  point(end: RunsEnd, lastSeq: number | undefined): ResumePoint | undefined {
    const { lastRecordSeq } = end;
    // A compaction that dropped the log's last records kept their last seq.
    const tailDropped = lastSeq !== undefined && lastRecordSeq !== undefined && lastSeq > lastRecordSeq;
    return this.run!.point(tailDropped);
  }
}

/** The log's last run so far, reduced to what says where it ended (see {@link LastRunEnd}). */
class OpenRun {
  /**
   * Whether records were removed (the log's seqs jump) since the run's start record, or since its
   * last audit record.
   */
  removedSinceMark = false;
  /** The generation the run's close marker records, if it has one that holds one. */
  closeGeneration: number | undefined;
  private readonly start: ReturnType<typeof startingPoint>;
  private events = 0;
  private lastEvent: AuditEvent | undefined;
  // Whether the run's first audit records are gone (known at its first record left, or at its end).
  private startLost = false;
  private live: Readonly<Record<string, number>> | undefined;
  private baseline: Readonly<Record<string, number>> | undefined;
  // The run's last tuned point left (before any, its start: generation 0, its header's values),
  // the generations of the perturbations left after it, and whether audit records after it are gone.
  private tuned: { values: Readonly<Record<string, number>> | undefined; generation: number } = {
    values: undefined,
    generation: 0,
  };
  private probes = new Set<number>();
  private goneSinceTuned = false;
  private removedSome = false;

  constructor(
    readonly run: number,
    header: EngineLogHeader,
  ) {
    this.start = startingPoint(header);
  }

  event(event: AuditEvent): void {
    if (this.events === 0) {
      // A run whose first audit records are gone (a compacted log, or a full audit ring that
      // dropped them) does not tell what happened before its first record left.
      this.begin(event.seq !== 1);
    } else if (this.removedSinceMark && event.seq !== this.lastEvent!.seq + 1) {
      // The records removed here may have held an apply or a setBaseline. Records removed between
      // two left whose audit seqs run on were no audit records (timings, say); a gap in the audit
      // seqs where the log's own seqs run on is a full ring's, where the last of what is left stands.
      this.live = undefined;
      this.baseline = undefined;
      this.goneSinceTuned = true;
      this.removedSome = true;
    }
    if (event.type === "apply" || event.type === "rollback") {
      // An apply written without its values (an old log) leaves the live values unknown.
      this.live = event.values;
      const { generation } = event;
      if (isTunedPoint(event)) {
        this.tuned = { values: event.values, generation };
        this.probes = new Set();
        this.goneSinceTuned = false;
      } else this.probes.add(generation);
    } else if (event.type === "baseline.set") {
      // An operator's setBaseline takes the live values, and its record leaves them out.
      this.baseline = event.values ?? this.live;
    }
    this.events++;
    this.lastEvent = event;
    this.removedSinceMark = false;
  }

  /** Where the run ended, once the log's records are all taken; `tailDropped`: its last records are gone. */
  point(tailDropped: boolean): ResumePoint | undefined {
    // A run with no audit record left tells nothing once any of its records were removed.
    if (this.events === 0) this.begin(this.removedSinceMark || tailDropped);
    // Records removed after the last audit record left may have held more (a setBaseline, say).
    const lastLost = this.removedSinceMark || tailDropped;
    const baseline = lastLost ? undefined : this.baseline;
    const { tuned, probes } = this;
    // The tuned point is where the run ended when no audit record after it is gone, or when the log
    // tells the generation the run ended on (its close marker's, or its last record's when none
    // after it is gone) and each generation after the point's is a perturbation left in the log:
    // every apply and rollback raises the generation by exactly one, so no other change came after it.
    const ended = this.closeGeneration ?? (lastLost ? undefined : this.lastEvent?.generation);
    const onlyProbesUpTo = (last: number) => {
      for (let g = tuned.generation + 1; g <= last; g++) if (!probes.has(g)) return false;
      return last >= tuned.generation;
    };
    const endedThere = !(this.goneSinceTuned || lastLost) || (ended !== undefined && onlyProbesUpTo(ended));
    if (tuned.values === undefined || !endedThere) {
      // Nothing is gone: an old log, whose last run records neither its values nor its start.
      if (!(this.removedSome || lastLost)) return undefined;
      const which = lastLost
        ? "its last records are gone"
        : this.startLost
          ? "its first records are gone"
          : "records of it were removed";
      throw new ReplayInputError(
        `cannot tell where run ${this.run} of the log ended: ${which} (a compacted log) and ` +
          "none of those left records a tuned point (a centre, rollback or manual apply with its values) " +
          "known to be the run's last; start from the config (resumedConfig(config, undefined))",
      );
    }
    return {
      run: this.run,
      values: { ...tuned.values },
      generation: tuned.generation,
      baseline: baseline === undefined ? undefined : { ...baseline },
    };
  }

  /** The run's state before its first audit record left: its start, unless records before that are gone. */
  private begin(startLost: boolean): void {
    this.startLost = startLost;
    this.live = startLost ? undefined : this.start?.values;
    this.baseline = startLost ? undefined : this.start?.baseline;
    this.tuned = { values: this.start?.values, generation: 0 };
    this.goneSinceTuned = startLost;
    this.removedSome = startLost;
  }
}

/** A change that leaves the engine on a tuned point: not a perturbation around one. */
function isTunedPoint(event: AuditEvent): event is Extract<AuditEvent, { type: "apply" | "rollback" }> {
  if (event.type === "rollback") return true;
  return (
    event.type === "apply" &&
    (event.kind === "centre" || event.kind === "rollback" || event.kind === "manual")
  );
}

/**
 * The values and baseline a run started from (its generation 0), as its header's resolved config
 * records them; undefined for a header written before the resolved config was recorded.
 */
export function startingPoint(
  header: EngineLogHeader,
): { values: Record<string, number>; baseline: Record<string, number> } | undefined {
  const params = header.resolved?.params as
    | Readonly<Record<string, { readonly init?: unknown; readonly baseline?: unknown }>>
    | undefined;
  if (params === undefined) return undefined;
  const values: Record<string, number> = {};
  const baseline: Record<string, number> = {};
  for (const name of header.names) {
    const { init, baseline: given } = params[name] ?? {};
    if (typeof init !== "number") return undefined;
    values[name] = init;
    baseline[name] = typeof given === "number" ? given : init;
  }
  return { values, baseline };
}
