import { resolve } from "node:path";
import { encodeNumbers } from "../log/json-numbers.js";
import { explain, renderExplanation } from "../replay/explain.js";
import { type ExitCode, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { logReadFailure, parseLogCommand, runFlag, runFlagFailure, wholeFlag } from "./log-command.js";

/** Help text of `arqon explain`. */
export const EXPLAIN_USAGE = `arqon explain <log> --generation N [--run K] [--json]
  Prints the chain that produced generation N of a decision log: the windows and their digests,
  the gradient estimate and step, the Tier-1 outcome and the values written. A log continued
  after a restart holds several runs, each numbering its generations from its own start: the
  last run that created generation N is explained (and named), or run K with --run K. Times are
  seconds since the run started, whose date (or virtual engine time) the second line gives. --json
  prints the structured explanation, times in engine-clock ms (NaN, ±Infinity and -0 as
  {"$num": "..."}).`;

/** `arqon explain <log> --generation N [--run K]`: why the live values became generation N. */
export function explainCommand(argv: readonly string[], io: CliIo): ExitCode {
  const { log, values } = parseLogCommand("explain", argv, {
    generation: { type: "string" },
    run: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help === true) {
    io.stdout(`${EXPLAIN_USAGE}\n`);
    return 0;
  }
  if (log === undefined)
    throw usageError("arqon explain: the log is required (arqon explain <log> --generation N)");
  if (values.generation === undefined) throw usageError("arqon explain: --generation is required");
  const generation = wholeFlag("explain", values.generation, "generation", 0);
  const run = runFlag("explain", values.run);
  let explanation: ReturnType<typeof explain>;
  try {
    explanation = explain(resolve(io.cwd, log), generation, run === undefined ? {} : { run });
  } catch (error) {
    throw logReadFailure("explain", runFlagFailure("explain", error));
  }
  io.stdout(
    values.json === true ? `${JSON.stringify(encodeNumbers(explanation))}\n` : renderExplanation(explanation),
  );
  return 0;
}
