import { LogError } from "../log/errors.js";
import { ReplayInputError } from "../replay/read-log.js";
import { ReplayRunError } from "../replay/run-choice.js";
import { type FlagSpec, type FlagValues, parseCommandLine, wholeNumberOf } from "./args.js";
import { runtimeError, usageError } from "./cli-error.js";

/**
 * The positional argument and flags of a log command (`<log> [flags]`), strictly: exactly one
 * positional, no unknown flags.
 */
export function parseLogCommand(
  command: string,
  argv: readonly string[],
  flags: FlagSpec,
): { readonly log: string | undefined; readonly values: FlagValues } {
  const { values, positionals } = parseCommandLine(command, argv, flags, true);
  if (positionals.length > 1)
    throw usageError(`arqon ${command}: expected one log, got ${positionals.length}`);
  // `arqon replay "$LOG"` with the variable unset must not read the current directory.
  if (positionals[0] === "") throw usageError(`arqon ${command}: the log path is empty (an unset variable?)`);
  return { log: positionals[0], values };
}

/** The value of an optional `--run K` flag (a whole number ≥ 1), or undefined when absent. */
export function runFlag(command: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const run = wholeFlag(command, value, "run", 0);
  if (run < 1)
    throw usageError(`arqon ${command}: --run must be 1 or more (runs are numbered from 1), got ${run}`);
  return run;
}

/** A `--run` that names no run of the log, as a usage error naming the flag. */
export function runFlagFailure(command: string, error: unknown): unknown {
  if (!(error instanceof ReplayRunError)) return error;
  const { runCount: n, firstRun: first } = error;
  const held =
    first === 1
      ? n === 1
        ? "run 1 only"
        : `runs 1–${n}`
      : `${first === n ? `run ${n} only` : `runs ${first}–${n}`}: a compaction removed runs 1–${first - 1}`;
  return usageError(
    `arqon ${command}: --run ${String(error.run)} is not a run of this log (it holds ${held})`,
  );
}

/** The value of a whole-number flag ≥ 0, or `fallback` when absent. */
export function wholeFlag(
  command: string,
  value: string | boolean | undefined,
  name: string,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" ? wholeNumberOf(value) : Number.NaN;
  if (Number.isNaN(n))
    throw usageError(`arqon ${command}: --${name} must be a whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** Turns the errors of reading a log into CLI errors (unreadable input: exit 2; damaged log: exit 1). */
export function logReadFailure(command: string, error: unknown): unknown {
  if (error instanceof ReplayInputError) return usageError(`arqon ${command}: ${error.message}`);
  if (error instanceof LogError) return runtimeError(`arqon ${command}: ${error.message}`);
  return error;
}
