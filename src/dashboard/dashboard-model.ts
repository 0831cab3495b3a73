import type { AuditEvent } from "../audit/events.js";
import { type MeasuredBaseline, MeasuredBaselineTracker, sameValues } from "./measured-baseline.js";
import type { DashboardView, TwinPoint } from "./source.js";

/** Default number of audit events and parameter samples the server keeps for new clients. */
export const DEFAULT_HISTORY_LIMIT = 2000;

/** The parameter values at one moment (a point of the parameter charts). */
export interface ParamSample {
  /** Engine-clock ms. */
  readonly time: number;
  readonly generation: number;
  readonly values: Readonly<Record<string, number>>;
}

/**
 * What the server remembers for clients that connect later: the latest audit events, parameter
 * samples and untuned-twin points, and the measured baseline.
 *
 * @remarks
 * Memory is bounded: at most `limit` of each are kept (the oldest go first; trimming is amortised
 * O(1) per add). The measured baseline (see {@link MeasuredBaselineTracker}) is folded over the
 * whole stream, so it survives the trimming of the history.
 */
export class DashboardModel {
  readonly limit: number;
  private readonly eventLog: AuditEvent[] = [];
  private readonly sampleLog: ParamSample[] = [];
  private readonly twinLog: TwinPoint[] = [];
  private readonly tracker = new MeasuredBaselineTracker();

  /** @throws RangeError when `limit` is not a whole number ≥ 1. */
  constructor(limit: number = DEFAULT_HISTORY_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`history limit must be a whole number ≥ 1, got ${limit}`);
    this.limit = limit;
  }

  /**
   * Records an audit event; an event that carries the values it wrote (apply, rollback) is also
   * recorded as a parameter sample, which is returned (undefined otherwise).
   */
  addEvent(event: AuditEvent): ParamSample | undefined {
    push(this.eventLog, event, this.limit);
    this.tracker.addEvent(event);
    const values = (event as { readonly values?: unknown }).values;
    return isNumberRecord(values) ? this.addSample(event, values) : undefined;
  }

  /**
   * Records `values` (default: the view's) at the view's time and generation as a sample, when
   * they differ from the last sample's; returns the new sample, or undefined when nothing changed
   * or there are no values.
   */
  addSample(
    at: Pick<DashboardView, "time" | "generation" | "baselineGeneration">,
    values: Readonly<Record<string, number>> | null = (at as Partial<DashboardView>).values ?? null,
  ): ParamSample | undefined {
    if (at.baselineGeneration !== undefined) this.tracker.noteBaselineGeneration(at.baselineGeneration);
    if (values === null) return undefined;
    this.tracker.noteValues(at.generation, values);
    const last = this.sampleLog.at(-1);
    if (last !== undefined && last.generation === at.generation && sameValues(last.values, values))
      return undefined;
    const sample: ParamSample = { time: at.time, generation: at.generation, values };
    push(this.sampleLog, sample, this.limit);
    return sample;
  }

  /** Records a measurement of the untuned twin. */
  addTwin(point: TwinPoint): void {
    push(this.twinLog, point, this.limit);
  }

  /** The kept events, oldest first (a copy). */
  events(): AuditEvent[] {
    return this.eventLog.slice(-this.limit);
  }

  /** The kept parameter samples, oldest first (a copy). */
  samples(): ParamSample[] {
    return this.sampleLog.slice(-this.limit);
  }

  /** The kept untuned-twin points, oldest first (a copy). */
  twin(): TwinPoint[] {
    return this.twinLog.slice(-this.limit);
  }

  /** The objective measured at the baseline configuration, or null before any such window. */
  baseline(): MeasuredBaseline | null {
    return this.tracker.current();
  }
}

/** Appends, and drops the oldest entries once the array holds a quarter more than `limit`. */
function push<T>(log: T[], item: T, limit: number): void {
  log.push(item);
  if (log.length > limit + (limit >> 2)) log.splice(0, log.length - limit);
}

/** Whether `value` is a plain object of numbers (a `values` record of an apply or rollback). */
export function isNumberRecord(value: unknown): value is Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "number");
}
