/**
 * The demo's account of SafeMode: every mode change and rollback of a run, and what the mode it
 * ended in means. Without it a run that ended frozen reads as tuning that simply stopped working.
 */
import type { AuditEvent, EngineSnapshot } from "arqon";
import { SAFE_MODE_DEFAULTS } from "arqon/machines";

/** Changes listed from the start of a run, and from its end: the last ones explain how it ended. */
const HEAD_LINES = 4;
const TAIL_LINES = 4;

/** Collects a run's SafeMode changes and rollbacks from its audit events, one line each. */
export class SafetyLog {
  /** Engine-clock time of the first audit event: the run's start. */
  private origin = Number.NaN;
  private readonly head: string[] = [];
  /** The latest changes after the head, at most {@link TAIL_LINES} (oldest first). */
  private readonly tail: string[] = [];
  private changes = 0;

  /** Takes one audit event; only `mode.changed` and `rollback` are kept. */
  note(event: AuditEvent): void {
    if (Number.isNaN(this.origin)) this.origin = event.time;
    let what: string;
    if (event.type === "mode.changed") {
      const why = event.reasons.length > 0 ? ` (${event.reasons.join(", ")})` : "";
      what = `mode ${event.from} → ${event.to}${why}`;
    } else if (event.type === "rollback") {
      const values = event.values === undefined ? "" : ` to ${knobList(event.values)}`;
      what = `rollback${values} (${event.note ?? event.reason})`;
    } else return;
    const line = `${((event.time - this.origin) / 1000).toFixed(1).padStart(5)} s  ${what}`;
    this.changes++;
    if (this.head.length < HEAD_LINES) this.head.push(line);
    else {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
  }

  /** The summary's SafeMode part, ending with what the final mode `end` means for tuning. */
  describe(end: Pick<EngineSnapshot, "mode" | "reasons" | "steppingDownFrom">): string {
    if (this.changes === 0) return "SafeMode: normal throughout.\n";
    const left = this.changes - this.head.length - this.tail.length;
    const lines = [...this.head, ...(left > 0 ? [`… ${left} more in the audit file`] : []), ...this.tail];
    return `SafeMode:\n${lines.map((line) => `  ${line}\n`).join("")}${endingOf(end)}`;
  }
}

/** What the mode a run ended in means, or nothing for `normal`. */
function endingOf(end: Pick<EngineSnapshot, "mode" | "reasons" | "steppingDownFrom">): string {
  const why =
    end.reasons.length > 0
      ? `for ${end.reasons.join(", ")}`
      : `stepping down from ${(end.steppingDownFrom ?? []).join(", ") || "a cleared reason"}`;
  const { dwellMs, healthyWindows } = SAFE_MODE_DEFAULTS;
  const stepDown = `after ${dwellMs / 1000} s in it and ${healthyWindows} healthy windows in a row`;
  switch (end.mode) {
    case "normal":
      return "";
    case "conservative":
      return (
        `The run ended conservative, ${why}: tuning went on with smaller moves (halved maxDelta,\n` +
        `perturbation and step); it returns to normal once its reasons clear, ${stepDown}.\n`
      );
    case "frozen":
      return (
        `The run ended frozen, ${why}: tuning stopped, and a mode steps down only\n` +
        `${stepDown}, so it stayed stopped to the end. That is the safety\n` +
        "executor at work (docs/concepts/safe-mode.md).\n"
      );
    case "halted":
      return (
        `The run ended halted, ${why}: nothing is applied until an operator resets SafeMode\n` +
        "(engine.resetSafeMode with an acknowledgement; docs/concepts/safe-mode.md).\n"
      );
  }
}

/** "batchSize 10.0, timeoutMs 50.0" for values by name. */
export function knobList(values: object): string {
  return (Object.entries(values) as [string, number][])
    .map(([name, value]) => `${name} ${value.toFixed(1)}`)
    .join(", ");
}
