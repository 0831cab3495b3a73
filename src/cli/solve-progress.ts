import { unreadReportWarning } from "./objective-output.js";
import { describeProgress, formatValue, type RunView } from "./progress.js";

/** Where and how `arqon solve` reports its progress. */
export interface SolveProgressOptions {
  /** Writes to standard error. */
  readonly write: (text: string) => void;
  /** Standard error is a terminal: keep one status line updated in place. */
  readonly terminal: boolean;
  /** `--quiet`: no progress at all (errors, the objective's own stderr and the final summary stay). */
  readonly quiet: boolean;
  /** Milliseconds of a monotonic clock. */
  readonly now: () => number;
  /**
   * Calls `refresh` periodically until the returned function is called, so that the terminal line's
   * elapsed time and ETA move during a long trial. Not used off a terminal or when quiet.
   */
  readonly tick?: (refresh: () => void) => () => void;
}

/** "\r" and erase the whole line: the status line is redrawn in place. */
const CLEAR_LINE = "\r\u001b[2K";

/**
 * The progress display of `arqon solve`: trials done out of the budget, best so far, elapsed time
 * and an estimate of the time left.
 *
 * @remarks
 * On a terminal it is a single line rewritten after every trial, lifted out of the way whenever
 * something else (the objective's stderr, a note) is written, so nothing is overwritten. Elsewhere
 * (a file, a pipe, CI) every finished trial is one plain line. The estimate uses only the trials
 * finished in this process, so a resumed run does not count the earlier run's trials as instant.
 */
export class SolveProgress {
  private readonly startedAt: number;
  private readonly doneAtStart: number;
  private status = "";
  /** The objective's stderr ended without a newline: the next status line starts on a new line. */
  private midLine = false;
  private readonly stopTicking: () => void;

  constructor(
    private readonly options: SolveProgressOptions,
    private readonly solver: RunView,
  ) {
    this.startedAt = options.now();
    this.doneAtStart = trialsDone(solver);
    const ticking = options.terminal && !options.quiet && options.tick !== undefined;
    this.stopTicking = ticking
      ? options.tick!(() => {
          if (this.status !== "") this.draw();
        })
      : () => {};
  }

  /** An informational line (resuming, classification, interrupt notice). */
  note(line: string): void {
    if (this.options.quiet) return;
    this.notice(line);
  }

  /**
   * A line said even under `--quiet`: that a run or study was begun rather than resumed, which is
   * how a misspelt state path or study name shows in a job run quietly.
   */
  notice(line: string): void {
    this.around(() => this.options.write(`${line}\n`));
  }

  /** The warnings given once per run that were given. */
  private readonly warned = new Set<"unread report">();

  /** Reports, once per run, a line that looks meant as a report but is none (`why`). */
  unreadReport(trialId: number, line: string, why: string): void {
    if (this.warned.has("unread report")) return;
    this.warned.add("unread report");
    this.passthrough(unreadReportWarning(trialId, line, why));
  }

  /** Text the objective command wrote on its stderr: always shown, never overwritten. */
  passthrough(text: string): void {
    if (text === "") return;
    if (this.options.terminal && !text.endsWith("\n")) {
      // Redrawing now would glue the status to a half-written line: wait for the next update.
      if (this.status !== "") this.options.write(CLEAR_LINE);
      this.status = "";
      this.options.write(text);
      this.midLine = true;
      return;
    }
    this.midLine = false;
    this.around(() => this.options.write(text));
  }

  /** A trial was started: on a terminal the status line shows it. */
  started(): void {
    if (this.options.quiet || !this.options.terminal) return;
    this.draw();
  }

  /** Trial `id` finished with `value`, failed for `failure`, or was pruned. */
  finished(
    id: number,
    outcome: { readonly value: number } | { readonly failure: string } | { readonly pruned: true },
  ): void {
    const what =
      "value" in outcome
        ? `${formatValue(outcome.value)}`
        : "pruned" in outcome
          ? "pruned"
          : `failed: ${outcome.failure}`;
    if ("failure" in outcome) {
      // A failure is news even on a terminal and even when quiet: it says why the budget went.
      this.around(() => this.options.write(`trial ${id} ${what}\n`));
      return;
    }
    if (this.options.quiet) return;
    if (this.options.terminal) this.draw();
    else this.options.write(`trial ${id}: ${what} (${describeProgress(this.solver)}; ${this.timing()})\n`);
  }

  /** Stops refreshing and removes the status line, leaving the terminal as it was found. */
  finish(): void {
    this.stopTicking();
    if (this.status === "") return;
    this.options.write(CLEAR_LINE);
    this.status = "";
  }

  /** The status line as shown on a terminal. */
  statusLine(): string {
    const best = this.solver.best();
    const bestText = best === null ? "no result yet" : `best ${formatValue(best.value)}`;
    return `trial ${trialsDone(this.solver)}/${this.solver.config.budget} · ${bestText} · ${this.timing()}`;
  }

  /** "elapsed 12.5s, ETA 40s", the ETA from this process's pace ("ETA -" before any trial finished). */
  timing(): string {
    const elapsed = this.options.now() - this.startedAt;
    const doneHere = trialsDone(this.solver) - this.doneAtStart;
    const left = this.solver.config.budget - trialsDone(this.solver);
    const eta = doneHere > 0 ? formatDuration((elapsed / doneHere) * left) : "-";
    return `elapsed ${formatDuration(elapsed)}, ETA ${eta}`;
  }

  private draw(): void {
    this.status = this.statusLine();
    this.options.write(`${this.midLine ? "\n" : CLEAR_LINE}${this.status}`);
    this.midLine = false;
  }

  /** Writes with the status line lifted: cleared before, redrawn after. */
  private around(write: () => void): void {
    const shown = this.status !== "";
    if (shown) this.options.write(CLEAR_LINE);
    write();
    if (shown) this.draw();
  }
}

/** Calls `refresh` every second without keeping the process alive; returns the stop function. */
export function everySecond(refresh: () => void): () => void {
  const timer = setInterval(refresh, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Trials that are over (told or failed): asked minus the ones still pending. */
function trialsDone(solver: RunView): number {
  return solver.asked - solver.pendingTrials().length;
}

/** A duration for a human: "850ms", "4.2s", "12s", "3m05s", "2h07m". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const totalSeconds = Math.round(seconds);
  if (totalSeconds < 3600) {
    return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, "0")}s`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, "0")}m`;
}
