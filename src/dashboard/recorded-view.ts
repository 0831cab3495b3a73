import type { AuditEvent } from "../audit/events.js";
import { isNumberRecord } from "./dashboard-model.js";
import type { DashboardUnits, DashboardView } from "./source.js";

/** The SPSA state whose window an apply of this kind opens. */
const PHASE_OF_APPLY: Readonly<Record<string, string>> = {
  plus: "cycle.plus",
  minus: "cycle.minus",
  centre: "cycle.centre",
  rollback: "cycle.holding",
};

/**
 * States that bring the live point back to the centre before measuring it: a centre apply there
 * is that return, not a new centre (the chart stays until the window closes).
 */
const RETURNING: ReadonlySet<string> = new Set(["cycle.holding", "stalled"]);

/** States whose entry apply, if Tier 1 refuses it, sends the cycle to `cycle.holding`. */
const PROPOSING: ReadonlySet<string> = new Set(["cycle.plus", "cycle.minus", "cycle.centre"]);

/**
 * The view of a recording, folded one event at a time (so a followed file costs O(1) per new
 * event).
 *
 * @remarks
 * Generation and time come from the last event; mode and reasons from the last `mode.changed`
 * (`"normal"` when the recording starts at the run's first event, else `"unknown"` until one);
 * values from events that carry a `values` record. The SPSA phase follows the chart
 * (machines/spsa.machine.ts): an apply of `plus` or `minus` opens that state's window, a centre
 * apply `cycle.centre`'s, except in `cycle.holding` and `stalled`, where it only brings the live
 * point back to the centre; a proposal Tier 1 refuses (a `violation` of a proposal) restarts the
 * cycle in `cycle.holding`, and so do a rollback, a `window.closed` that ends a stall and one
 * marked `remeasure` (anomalous digests: the centre is measured again); `spsa.stalled` is
 * `stalled`. A run's first event starts in `cycle.holding`, where the engine measures its start
 * point. SafeMode drives the cycle as the engine does: entering `frozen` or `halted` pauses it
 * (a rollback then keeps it paused), leaving them or moving between `normal` and `conservative`
 * starts it over in `cycle.holding`. The iteration counts `decision.step` events (k + 1 after
 * step k). The statechart record holds the `spsa` and `safeMode` states so derived.
 *
 * A recording can hold several runs (an engine restarted on its decision log, a file rewritten):
 * an event whose seq is not above the last one's, or of another run id, starts the next run, and
 * mode, reasons, phase, iteration and title start over from it as from a first event. The values
 * stay the last ones recorded until the new run records its own.
 */
export class RecordedViewFold {
  private mode = "unknown";
  private reasons: readonly string[] = [];
  private values: Record<string, number> | null = null;
  private names: readonly string[] = [];
  private phase: string | null = null;
  private iteration: number | null = null;
  /** Whether the latest window measured negated margins (constraint-first: a feasibility step follows). */
  private lastWindowNegated = false;
  private first: AuditEvent | undefined;
  private last: AuditEvent | undefined;

  constructor(
    private readonly title: string,
    private readonly units: DashboardUnits = {},
  ) {}

  /** Folds one event in. */
  add(event: AuditEvent): void {
    const last = this.last;
    // Each run numbers its events from 1: a seq not above the last one (an engine restarted on its
    // log, a file rewritten) or another run id starts a new run, whose state owes nothing to the
    // run before.
    if (last === undefined || event.seq <= last.seq || event.runId !== last.runId) this.startRun(event);
    this.last = event;
    switch (event.type) {
      case "mode.changed":
        this.mode = event.to;
        this.reasons = event.reasons;
        this.phase = phaseAfterModeChange(event.from, event.to) ?? this.phase;
        break;
      case "apply":
        if (event.kind === "centre" && this.phase !== null && RETURNING.has(this.phase)) break;
        this.phase = PHASE_OF_APPLY[event.kind] ?? this.phase;
        break;
      case "violation":
        // Proposals carry an id; a refused rollback (id −1) changes nothing.
        if (event.proposalId >= 0 && this.phase !== null && PROPOSING.has(this.phase))
          this.phase = "cycle.holding";
        break;
      case "rollback":
        // A paused cycle stays paused (the chart only moves its centre).
        if (this.phase !== "paused") this.phase = "cycle.holding";
        break;
      case "window.closed":
        if (this.phase === "stalled" || event.remeasure === true) this.phase = "cycle.holding";
        this.lastWindowNegated = event.negatedMargin === true;
        break;
      case "spsa.stalled":
        this.phase = "stalled";
        break;
      case "decision.step":
        // A feasibility step (its windows measured negated margins) leaves k where it is.
        this.iteration = this.lastWindowNegated ? event.iteration : event.iteration + 1;
        break;
      default:
        break;
    }
    const carried = (event as { values?: unknown }).values;
    if (isNumberRecord(carried)) {
      // A baseline.set carries values only when they are not the live ones (a resumed leader's).
      if (event.type !== "baseline.set") this.values = carried;
      this.names = Object.keys(carried);
    }
  }

  /** Starts the run whose first event folded is `event`: from its start state when it is seq 1. */
  private startRun(event: AuditEvent): void {
    this.first = event;
    const fromStart = event.seq === 1;
    this.mode = fromStart ? "normal" : "unknown";
    this.reasons = [];
    this.phase = fromStart ? "cycle.holding" : null;
    this.iteration = fromStart ? 0 : null;
    this.lastWindowNegated = false;
  }

  /** The view after the events folded so far. */
  view(): DashboardView {
    const statechart: Record<string, string> = {};
    if (this.phase !== null) statechart.spsa = this.phase;
    if (this.mode !== "unknown") statechart.safeMode = this.mode;
    const runId = this.first?.runId;
    return {
      source: "recorded",
      title: runId ? `${runId} (${this.title})` : this.title,
      names: this.names,
      time: this.last?.time ?? 0,
      generation: this.last?.generation ?? -1,
      values: this.values,
      mode: this.mode,
      reasons: this.reasons,
      phase: this.phase,
      statechart,
      iteration: this.iteration,
      units: this.units,
    };
  }
}

/** Paused modes: the engine pauses the SPSA cycle on entering one. */
const PAUSING: ReadonlySet<string> = new Set(["frozen", "halted"]);
const RUNNING: ReadonlySet<string> = new Set(["normal", "conservative"]);

/** The SPSA state a SafeMode change puts the cycle in, or undefined when it does not say. */
function phaseAfterModeChange(from: string, to: string): string | undefined {
  if (PAUSING.has(to)) return PAUSING.has(from) ? undefined : "paused";
  if (RUNNING.has(to) && (PAUSING.has(from) || RUNNING.has(from))) return "cycle.holding";
  return undefined;
}
