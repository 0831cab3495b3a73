/**
 * Exit codes of the `arqon` command line.
 *
 * - `0`: success.
 * - `1`: runtime failure (an objective command failed and `--on-error stop` ended the run, I/O errors).
 * - `2`: usage or configuration error (bad flags, invalid JSON, invalid config, refused results).
 * - `130`: `arqon solve` interrupted by Ctrl-C (SIGINT) after saving its state; `143` and `129`
 *   when SIGTERM or SIGHUP ended it (128 + the signal's number, as a shell reports a process the
 *   signal killed), its running commands stopped and its state saved too.
 * - `141`: its standard output or error went to a closed pipe (128 + SIGPIPE's number); what would
 *   have gone there was dropped, and `arqon solve` stopped as for SIGTERM.
 */
export type ExitCode = 0 | 1 | 2 | 129 | 130 | 141 | 143;

/**
 * A failure the CLI reports as a single line on stderr before exiting with {@link CliError.exitCode}.
 *
 * @remarks
 * The message must fit on one line: callers (scripts, CI logs) read the last stderr line as the reason.
 * The constructor folds any newlines into `; ` to keep that promise even for wrapped library errors.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: 1 | 2;

  constructor(exitCode: 1 | 2, message: string) {
    super(oneLine(message));
    this.exitCode = exitCode;
  }
}

/** A usage or configuration problem (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(2, message);
}

/** A runtime failure (exit code 1). */
export function runtimeError(message: string): CliError {
  return new CliError(1, message);
}

/**
 * Collapses a possibly multi-line message into one sentence-like line, keeping every part: a list
 * introduced by a colon (`"rejected:\n  - a\n  - b"`) becomes `"rejected: a; b"`, other line breaks
 * become `"; "`.
 */
export function oneLine(message: string): string {
  let joined = "";
  for (const raw of message.split(/\r?\n/)) {
    const line = raw.trim().replace(/^[-*•]\s+/, "");
    if (line === "") continue;
    if (joined === "") joined = line;
    else joined += joined.endsWith(":") ? ` ${line}` : `; ${line}`;
  }
  return joined;
}
