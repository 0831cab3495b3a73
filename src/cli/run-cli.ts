import { errorMessage } from "../errors.js";
import { ConfigError } from "../index.js";
import { ASK_USAGE, askCommand } from "./ask.js";
import { CliError, type ExitCode, oneLine } from "./cli-error.js";
import { DASHBOARD_USAGE, dashboardCommand } from "./dashboard.js";
import { EXPLAIN_USAGE, explainCommand } from "./explain.js";
import type { CliIo } from "./io.js";
import { REPLAY_USAGE, replayCommand } from "./replay.js";
import { SOLVE_USAGE, solveCommand } from "./solve.js";
import { STATUS_USAGE, statusCommand } from "./status.js";
import { TELL_USAGE, tellCommand } from "./tell.js";
import { VALIDATE_USAGE, validateCommand } from "./validate.js";

/** Help text of `arqon` as a whole. */
export const USAGE = `arqon — deterministic ask/tell black-box minimisation

Usage: arqon <command> [flags]   (JSON on stdout, logs on stderr; exit 2 = bad input, 1 = run failed)

${[
  VALIDATE_USAGE,
  ASK_USAGE,
  TELL_USAGE,
  SOLVE_USAGE,
  STATUS_USAGE,
  DASHBOARD_USAGE,
  REPLAY_USAGE,
  EXPLAIN_USAGE,
].join("\n\n")}`;

const COMMANDS: Record<string, (argv: readonly string[], io: CliIo) => ExitCode | Promise<ExitCode>> = {
  validate: validateCommand,
  ask: askCommand,
  tell: tellCommand,
  solve: solveCommand,
  status: statusCommand,
  dashboard: dashboardCommand,
  replay: replayCommand,
  explain: explainCommand,
};

/**
 * Runs the `arqon` command line with `argv` (the arguments after the program name) against `io` and
 * resolves to the exit code. Never throws: every failure becomes one line on stderr and a non-zero
 * code (2 for usage and configuration errors, 1 for runtime failures).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === "help" || name === "--help" || name === "-h") {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    const what = name === undefined ? "missing command" : `unknown command ${JSON.stringify(name)}`;
    io.stderr(`arqon: ${what} (expected one of ${Object.keys(COMMANDS).join(", ")}; see arqon --help)\n`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      const listed = error.issues.map((i) => `${i.path === "" ? "(root)" : i.path}: ${i.message}`);
      io.stderr(`arqon ${name}: invalid config: ${listed.join("; ")}\n`);
      return 2;
    }
    io.stderr(`arqon ${name}: unexpected failure: ${oneLine(errorMessage(error))}\n`);
    return 1;
  }
}
