import { ReplayInputError, type ReplayRun } from "./read-log.js";

/**
 * A `run` option that names no run of the log. `option` is how the caller spelled it
 * (`options.run` for the API); the CLI reports it as its own flag.
 */
export class ReplayRunError extends ReplayInputError {
  override readonly name = "ReplayRunError";
  /** The value given. */
  readonly run: unknown;
  /** How many runs the log holds (the valid values are 1 to this). */
  readonly runCount: number;

  constructor(run: unknown, runCount: number, option = "options.run") {
    super(
      `${option} must be a whole number from 1 to ${runCount} (the log holds ${runCount} run${runCount === 1 ? "" : "s"}), got ${String(run)}`,
    );
    this.run = run;
    this.runCount = runCount;
  }
}

/**
 * The run numbered `run` (1-based) of `runs`.
 *
 * @throws ReplayRunError when `run` is not a whole number from 1 to `runs.length`.
 */
export function chooseRun(runs: readonly ReplayRun[], run: number): ReplayRun {
  const chosen = Number.isInteger(run) ? runs[run - 1] : undefined;
  if (chosen === undefined) throw new ReplayRunError(run, runs.length);
  return chosen;
}
