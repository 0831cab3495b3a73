import { type AuditEvent, measuredObjective } from "../audit/events.js";

/**
 * The objective measured under the baseline configuration: what the dashboard's baseline line
 * shows when the source has no untuned twin.
 */
export interface MeasuredBaseline {
  /** Mean objective of the windows measured at the baseline configuration. */
  readonly value: number;
  /** How many windows the mean is over. */
  readonly windows: number;
  /** The generation the baseline was taken at (−1 when the stream never said). */
  readonly generation: number;
}

/** How many recent generations' values are remembered to recognise the baseline configuration. */
const GENERATIONS_KEPT = 64;

/**
 * Folds audit events (and the values each generation ran with) into a {@link MeasuredBaseline}.
 *
 * @remarks
 * A window counts when it was measured at the baseline generation (`baseline.set`), or at any
 * later generation whose values equal the baseline's: the centre applies of the gain calibration
 * and a rollback's restored values are the baseline configuration again. The baseline's values
 * come from the values live at its generation, a rollback, or (for a run's first baseline, before
 * SPSA's first step) a centre apply. Windows at other
 * configurations never count, so the line is the objective of the untuned settings, not of the
 * first window. A new `baseline.set` starts over, and so does a new run of a recording (an event
 * whose seq is not above the last one's, or of another run id). Memory is bounded (the values of
 * the last {@link GENERATIONS_KEPT} generations).
 */
export class MeasuredBaselineTracker {
  private baselineGeneration = -1;
  private baselineValues: Readonly<Record<string, number>> | null = null;
  /** The baseline's values came with its `baseline.set`: its generation ran other values. */
  private baselineElsewhere = false;
  private readonly generationValues = new Map<number, Readonly<Record<string, number>>>();
  private sum = 0;
  private count = 0;
  /** True from a run's first `baseline.set` until SPSA's first step: the centre is the baseline. */
  private centreIsBaseline = false;
  /** The last event folded in, to see a new run start (its seq not above, or another run id). */
  private last: { readonly seq: number; readonly runId: string } | undefined;

  /** Records the values live at `generation` (from an apply, a rollback or a snapshot). */
  noteValues(generation: number, values: Readonly<Record<string, number>>): void {
    if (!this.generationValues.has(generation)) {
      this.generationValues.set(generation, values);
      if (this.generationValues.size > GENERATIONS_KEPT) {
        const oldest = this.generationValues.keys().next().value as number;
        this.generationValues.delete(oldest);
      }
    }
    if (generation === this.baselineGeneration && this.baselineValues === null) this.baselineValues = values;
  }

  /**
   * Adopts `generation` as the baseline generation when no `baseline.set` was seen (a dashboard
   * attached after the engine started): later windows at the baseline configuration then count.
   * With the baseline's `values` (an engine's snapshot gives them), windows count by their
   * values only: the baseline may be a point the engine has not stood at.
   */
  noteBaselineGeneration(generation: number, values?: Readonly<Record<string, number>>): void {
    if (this.baselineGeneration >= 0 || generation < 0) return;
    this.baselineGeneration = generation;
    this.baselineElsewhere = values !== undefined;
    this.baselineValues = values ?? this.generationValues.get(generation) ?? null;
  }

  /** Folds one audit event in. */
  addEvent(event: AuditEvent): void {
    const last = this.last;
    // A recording of several runs (an engine restarted on its log): each numbers its events and
    // its generations from the start again, so nothing of the run before says which is which.
    if (last !== undefined && (event.seq <= last.seq || event.runId !== last.runId)) this.startRun();
    this.last = { seq: event.seq, runId: event.runId };
    switch (event.type) {
      case "baseline.set":
        this.baselineGeneration = event.generation;
        // A config's baseline other than `init` is given with its values: windows count once a
        // rollback runs them, not at the generation, whose values are the start's.
        this.baselineElsewhere = event.values !== undefined;
        this.baselineValues = event.values ?? this.generationValues.get(event.generation) ?? null;
        this.centreIsBaseline = event.seq === 1 && !this.baselineElsewhere;
        this.sum = 0;
        this.count = 0;
        return;
      case "decision.step":
        this.centreIsBaseline = false;
        return;
      case "rollback":
        if (event.values !== undefined) {
          this.baselineValues = event.values;
          this.noteValues(event.generation, event.values);
        }
        return;
      case "apply":
        if (event.values === undefined) return;
        // A recording has no values for the start, but until SPSA's first step its centre is the
        // starting point, so the centre applies of the gain calibration carry the baseline values.
        if (event.kind === "centre" && this.centreIsBaseline) this.baselineValues ??= event.values;
        this.noteValues(event.generation, event.values);
        return;
      case "window.closed":
        if (measuredObjective(event) && Number.isFinite(event.value) && this.atBaseline(event.generation)) {
          this.sum += event.value;
          this.count++;
        }
        return;
      default:
        return;
    }
  }

  private startRun(): void {
    this.baselineGeneration = -1;
    this.baselineValues = null;
    this.baselineElsewhere = false;
    this.generationValues.clear();
    this.sum = 0;
    this.count = 0;
    this.centreIsBaseline = false;
  }

  /** Whether the configuration live at `generation` is the baseline one. */
  private atBaseline(generation: number): boolean {
    if (this.baselineGeneration < 0) return false;
    if (generation === this.baselineGeneration && !this.baselineElsewhere) return true;
    const values = this.generationValues.get(generation);
    return values !== undefined && this.baselineValues !== null && sameValues(values, this.baselineValues);
  }

  /** The baseline so far, or null before any window was measured at the baseline configuration. */
  current(): MeasuredBaseline | null {
    if (this.count === 0) return null;
    return { value: this.sum / this.count, windows: this.count, generation: this.baselineGeneration };
  }
}

/** Whether two value records hold the same names with the same numbers. */
export function sameValues(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const key of keys) if (!Object.is(a[key], b[key])) return false;
  return true;
}
