/** One problem found in a configuration: where it is and what is wrong. */
export interface ConfigIssue {
  /** Dotted path to the offending field, e.g. `bounds.lr.min`; empty for the whole config. */
  readonly path: string;
  readonly message: string;
}

/**
 * Thrown (or failed with, in Effect) when a configuration is invalid. Lists every problem at once,
 * each with its path, so a user fixes them all in one go.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly _tag = "ConfigError";
  readonly issues: readonly ConfigIssue[];

  /**
   * `subject` names what was configured when the caller handles several (`engine "web"`);
   * `options.cause`, the error this one restates (its stack shows where the config was refused).
   */
  constructor(issues: readonly ConfigIssue[], subject?: string, options?: ErrorOptions) {
    super(
      `Invalid configuration${subject === undefined ? "" : ` of ${subject}`} ` +
        `(${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${i.path === "" ? "(root)" : i.path}: ${i.message}`).join("\n"),
      options,
    );
    this.issues = issues;
  }
}

/** A call that the solver or engine refused; nothing was changed. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly _tag = "UsageError";
}

/**
 * A well-formed control command (rollback, resetSafeMode, setBaseline) that the engine did not
 * apply because it could not record it first: its decision log's `onCommand` failed, or its audit
 * ring is full and its sink is not draining it. Nothing was changed, and the engine runs on; the
 * command may be sent again once the log or sink recovers.
 */
export class CommandRefusedError extends Error {
  override readonly name = "CommandRefusedError";
  readonly _tag = "CommandRefusedError";
}

/** One problem with one entry of a batch given to `Solver.tell`. */
export interface ResultIssue {
  /** The entry's position in the batch as given (0 for a single result). */
  readonly index: number;
  /** Where in that entry, e.g. `.id` or `.params.lr`; empty for the entry as a whole. */
  readonly path: string;
  readonly message: string;
}

/**
 * A `tell` the solver refused; nothing was recorded. Its message names each entry as `result[i]`
 * (`result` for a single one); `issues` carries the same problems as data, for a caller that
 * numbers the entries its own way.
 */
export class ResultsRejectedError extends UsageError {
  readonly issues: readonly ResultIssue[];

  constructor(issues: readonly ResultIssue[], count: number) {
    const at = (issue: ResultIssue) => `${count === 1 ? "result" : `result[${issue.index}]`}${issue.path}`;
    super(
      `tell rejected; nothing was recorded:\n  - ${issues.map((i) => `${at(i)}: ${i.message}`).join("\n  - ")}`,
    );
    this.issues = issues;
  }
}

/** What {@link errorMessage} says of a thrown value that cannot be turned into text. */
const UNPRINTABLE_ERROR = "a thrown value that cannot be turned into text";

/** The message of a thrown value (its `message` if it is an Error, else its string form). */
export function errorMessage(error: unknown): string {
  // Total: the host may throw anything, and the paths that report it (a rollback's note, a
  // breaker's reason) must not fail on a value that has no text (a null-prototype object, a revoked
  // proxy, a toString that throws).
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return UNPRINTABLE_ERROR;
  }
}

/** Whether a thrown value is a Node system error with errno code `code` (`"ENOENT"`, `"EEXIST"`, …). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}
