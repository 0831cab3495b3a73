import { ReplayInputError } from "./read-log.js";

/**
 * A `run` option that names no run of the log. `option` is how the caller spelled it
 * (`options.run` for the API); the CLI reports it as its own flag.
 */
export class ReplayRunError extends ReplayInputError {
  override readonly name = "ReplayRunError";
  /** The value given. */
  readonly run: unknown;
  /** The number of the log's last run: how many runs it held (the valid values end there). */
  readonly runCount: number;
  /**
   * The number of the log's first run: 1, or more when a compaction removed the first runs whole
   * (the valid values are this to {@link runCount}).
   */
  readonly firstRun: number;

  constructor(run: unknown, runCount: number, option = "options.run", firstRun = 1) {
    const held =
      firstRun === 1
        ? `the log holds ${runCount} run${runCount === 1 ? "" : "s"}`
        : `the log holds runs ${firstRun}–${runCount}: a compaction removed runs 1–${firstRun - 1}`;
    super(`${option} must be a whole number from ${firstRun} to ${runCount} (${held}), got ${String(run)}`);
    this.run = run;
    this.runCount = runCount;
    this.firstRun = firstRun;
  }
}
