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
 * The view of a recording, folded one event at a time (so a followed file costs O(1) per new
 * event).
 *
 * @remarks
 * Generation and time come from the last event; mode and reasons from the last `mode.changed`
 * (`"normal"` when the recording starts at the run's first event, else `"unknown"` until one);
 * values from events that carry a `values` record. The SPSA phase is the state whose window the
 * last apply opened (`plus` → `cycle.plus`, …; a rollback returns to `cycle.holding`, a stall to
 * `stalled`); a run's first event starts in `cycle.holding`, where the engine measures its start
 * point. SafeMode drives the cycle as the engine does: entering `frozen` or `halted` pauses it,
 * leaving them or moving between `normal` and `conservative` starts it over in `cycle.holding`. The iteration counts `decision.step` events (k + 1 after step k). The statechart record
 * holds the `spsa` and `safeMode` states so derived.
 */
export class RecordedViewFold {
  private mode = "unknown";
  private reasons: readonly string[] = [];
  private values: Record<string, number> | null = null;
  private names: readonly string[] = [];
  private phase: string | null = null;
  private iteration: number | null = null;
  private first: AuditEvent | undefined;
  private last: AuditEvent | undefined;

  constructor(
    private readonly title: string,
    private readonly units: DashboardUnits = {},
  ) {}

  /** Folds one event in. */
  add(event: AuditEvent): void {
    if (this.first === undefined) {
      this.first = event;
      if (event.seq === 1) {
        this.mode = "normal";
        this.phase = "cycle.holding";
        this.iteration = 0;
      }
    }
    this.last = event;
    switch (event.type) {
      case "mode.changed":
        this.mode = event.to;
        this.reasons = event.reasons;
        this.phase = phaseAfterModeChange(event.from, event.to) ?? this.phase;
        break;
      case "apply":
        this.phase = PHASE_OF_APPLY[event.kind] ?? this.phase;
        break;
      case "rollback":
        this.phase = "cycle.holding";
        break;
      case "spsa.stalled":
        this.phase = "stalled";
        break;
      case "decision.step":
        this.iteration = event.iteration + 1;
        break;
      default:
        break;
    }
    const carried = (event as { values?: unknown }).values;
    if (isNumberRecord(carried)) {
      this.values = carried;
      this.names = Object.keys(carried);
    }
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
