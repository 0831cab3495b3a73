import { type AuditEvent, measuredObjective } from "../audit/events.js";
import { type MeasuredBaseline, MeasuredBaselineTracker, sameValues } from "./measured-baseline.js";
import type { DashboardView, TwinPoint } from "./source.js";

/** Default number of audit events, and of points of each chart series, the server keeps for new clients. */
export const DEFAULT_HISTORY_LIMIT = 2000;

/** The parameter values at one moment (a point of the parameter charts). */
export interface ParamSample {
  /** Engine-clock ms. */
  readonly time: number;
  readonly generation: number;
  readonly values: Readonly<Record<string, number>>;
}

/** The objective of one closed window (a point of the objective chart). */
export interface ObjectivePoint {
  /** Engine-clock ms the window closed at. */
  readonly time: number;
  readonly value: number;
}

/**
 * What the server remembers for clients that connect later: the latest audit events, and the
 * points of the chart series (objective, parameter samples, untuned twin), and the measured
 * baseline.
 *
 * @remarks
 * Memory is bounded: at most `limit` of each are kept (the oldest go first; trimming is amortised
 * O(1) per add). The objective keeps its own points, since a window closes once per several
 * audit events. The series still grow at different rates (a twin may report more often than
 * windows close, knobs change only on an apply), so once one of them has dropped points, all are
 * cut at its first kept time: every chart then covers the same span. The parameters are a step
 * line, so the sample live at that time is kept, moved to it. The measured baseline (see
 * {@link MeasuredBaselineTracker}) is folded over the whole stream, so it survives the trimming
 * of the history.
 */
export class DashboardModel {
  readonly limit: number;
  private readonly eventLog: BoundedLog<AuditEvent>;
  private readonly objectiveLog: BoundedLog<ObjectivePoint>;
  private readonly sampleLog: BoundedLog<ParamSample>;
  private readonly twinLog: BoundedLog<TwinPoint>;
  private readonly tracker = new MeasuredBaselineTracker();

  /** @throws RangeError when `limit` is not a whole number ≥ 1. */
  constructor(limit: number = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`history limit must be a whole number ≥ 1, got ${limit}`);
    this.limit = limit;
    this.eventLog = new BoundedLog(limit);
    this.objectiveLog = new BoundedLog(limit);
    this.sampleLog = new BoundedLog(limit);
    this.twinLog = new BoundedLog(limit);
  }

  /**
   * Records an audit event; a closed window with a value that measured the objective (not a
   * constraint-first window's −margins) is also a point of the objective; an
   * event that carries the values it wrote (apply, rollback; not a `baseline.set`, whose values
   * are the baseline's) is also recorded as a parameter sample, which is returned (undefined
   * otherwise).
   */
  addEvent(event: AuditEvent): ParamSample | undefined {
    this.eventLog.push(event);
    this.tracker.addEvent(event);
    if (
      event.type === "window.closed" &&
      measuredObjective(event) &&
      Number.isFinite(event.value) &&
      Number.isFinite(event.time)
    )
      this.objectiveLog.push({ time: event.time, value: event.value });
    // A baseline.set's values are the baseline's where it is not the live configuration (a fleet's
    // new leader resumed elsewhere): taken as live, every window there would count as baseline.
    if (event.type === "baseline.set") return undefined;
    const values = (event as { readonly values?: unknown }).values;
    return isNumberRecord(values) ? this.addSample(event, values) : undefined;
  }

  /**
   * Records `values` (default: the view's) at the view's time and generation as a sample, when
   * they differ from the last sample's; returns the new sample, or undefined when nothing changed
   * or there are no values.
   */
  addSample(
    at: Pick<DashboardView, "time" | "generation" | "baselineGeneration" | "baseline">,
    values: Readonly<Record<string, number>> | null = (at as Partial<DashboardView>).values ?? null,
  ): ParamSample | undefined {
    if (at.baselineGeneration !== undefined)
      this.tracker.noteBaselineGeneration(at.baselineGeneration, at.baseline);
    if (values === null) return undefined;
    this.tracker.noteValues(at.generation, values);
    const last = this.sampleLog.last();
    if (last !== undefined && last.generation === at.generation && sameValues(last.values, values))
      return undefined;
    const sample: ParamSample = { time: at.time, generation: at.generation, values };
    this.sampleLog.push(sample);
    return sample;
  }

  /** Records a measurement of the untuned twin. */
  addTwin(point: TwinPoint): void {
    this.twinLog.push(point);
  }

  /** The kept events, oldest first (a copy). */
  events(): AuditEvent[] {
    return this.eventLog.kept();
  }

  /** The kept objective points (closed windows), oldest first, from the charts' start (a copy). */
  objective(): ObjectivePoint[] {
    const start = this.chartStart();
    return this.objectiveLog.kept().filter((p) => p.time >= start);
  }

  /**
   * The kept parameter samples, oldest first, from the charts' start (a copy): the sample live at
   * the start, when older, comes first with the start's time.
   */
  samples(): ParamSample[] {
    const start = this.chartStart();
    const kept = this.sampleLog.kept();
    const first = kept.findIndex((s) => s.time >= start);
    const from = first < 0 ? kept.length : first;
    if (from === 0 || kept[from]?.time === start) return kept.slice(from);
    return [{ ...kept[from - 1]!, time: start }, ...kept.slice(from)];
  }

  /** The kept untuned-twin points, oldest first, from the charts' start (a copy). */
  twin(): TwinPoint[] {
    const start = this.chartStart();
    return this.twinLog.kept().filter((p) => p.time >= start);
  }

  /** The objective measured at the baseline configuration, or null before any such window. */
  baseline(): MeasuredBaseline | null {
    return this.tracker.current();
  }

  /** The time from which every chart series is complete (−∞ while none has dropped a point). */
  private chartStart(): number {
    return Math.max(this.objectiveLog.start(), this.sampleLog.start(), this.twinLog.start());
  }
}

/** The latest `limit` items of a stream, oldest first. */
class BoundedLog<T extends { readonly time: number }> {
  private readonly items: T[] = [];
  private dropped = false;

  constructor(private readonly limit: number) {}

  /** Appends, and drops the oldest entries once the array holds a quarter more than `limit`. */
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.limit) this.dropped = true;
    if (this.items.length > this.limit + (this.limit >> 2))
      this.items.splice(0, this.items.length - this.limit);
  }

  last(): T | undefined {
    return this.items.at(-1);
  }

  /** The kept items, oldest first (a copy). */
  kept(): T[] {
    return this.items.slice(-this.limit);
  }

  /** The time of the oldest kept item once older ones are gone, else −∞ (the stream is whole). */
  start(): number {
    return this.dropped ? this.items.at(-this.limit)!.time : -Infinity;
  }
}

/** Whether `value` is a plain object of numbers (a `values` record of an apply or rollback). */
export function isNumberRecord(value: unknown): value is Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "number");
}
