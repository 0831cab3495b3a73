/**
 * Replaying a decision log as it is read: each run goes to its own replayer as its records come
 * (see `replay`).
 */
import type { AuditEvent } from "../audit/events.js";
import {
  ENGINE_LOG_VERSION,
  type EngineLogHeader,
  type LoggedRepair,
  type TimeRecord,
} from "../log/log-records.js";
import type { FailureRecord, RunSink } from "../log/log-runs.js";
import { HeldRun } from "./held-run.js";
import type { ReplayOptions, ReplayRunResult } from "./replay.js";
import { ReplayRunError } from "./run-choice.js";
import { StreamedRun } from "./streamed-run.js";

/**
 * Takes a log's runs from a `LogRunSplitter` and replays each one chosen (`options.run`, else
 * all): a run that records its timings as its records come ({@link StreamedRun}), an older one
 * held whole and replayed once the log is read ({@link HeldRun}).
 */
export class LogReplay implements RunSink {
  private readonly runs: (StreamedRun | HeldRun)[] = [];
  private current: StreamedRun | HeldRun | undefined;
  private lastLogSeq: number | undefined;
  private firstRun: number | undefined;
  private lastRun: number | undefined;

  constructor(private readonly options: ReplayOptions) {}

  record(index: number, logSeq: number | undefined): void {
    const run = this.current;
    if (run !== undefined && index > run.start) run.record(this.lastLogSeq, logSeq);
    this.lastLogSeq = logSeq;
  }

  startRun(run: number, start: number, header: EngineLogHeader, repair: LoggedRepair | undefined): void {
    this.endRun();
    this.firstRun ??= run;
    this.lastRun = run;
    if (this.options.run !== undefined && run !== this.options.run) return;
    const replayer =
      (header.logVersion ?? 0) >= ENGINE_LOG_VERSION
        ? new StreamedRun(run, start, header, repair, this.options)
        : new HeldRun(run, start, header, repair);
    this.runs.push(replayer);
    this.current = replayer;
  }

  event(event: AuditEvent, index: number): void {
    this.current?.event(event, index);
  }

  timing(timing: TimeRecord): void {
    if (this.current instanceof StreamedRun) this.current.timing(timing);
  }

  close(index: number, generation: number | undefined): void {
    if (this.current instanceof StreamedRun) this.current.close(index, generation);
    else this.current?.closeAt(index, generation);
  }

  failure(failure: FailureRecord, index: number): void {
    if (this.current instanceof StreamedRun) this.current.failure(failure, index);
    else this.current?.failAt(failure, index);
  }

  /**
   * Each chosen run's outcome, in log order, once the whole log has been read: the held runs are
   * replayed now.
   *
   * @throws ReplayRunError when `options.run` names no run of the log.
   */
  async results(): Promise<ReplayRunResult[]> {
    this.endRun();
    const chosen = this.options.run;
    if (chosen !== undefined && this.runs.length === 0)
      throw new ReplayRunError(chosen, this.lastRun ?? 0, "options.run", this.firstRun ?? 1);
    const results: ReplayRunResult[] = [];
    for (const run of this.runs)
      results.push(run instanceof StreamedRun ? await run.result() : await run.result(this.options));
    return results;
  }

  /** Stops the replays a failed read left running and waits for their engines to close. */
  async stop(): Promise<void> {
    for (const run of this.runs) {
      if (!(run instanceof StreamedRun)) continue;
      run.stop();
      await run.closed().catch(() => undefined);
    }
  }

  private endRun(): void {
    if (this.current instanceof StreamedRun) this.current.end();
    this.current = undefined;
  }
}
