import { ASK_USAGE, askCommand } from "./ask.js";
import type { ExitCode } from "./cli-error.js";
import { DASHBOARD_USAGE, dashboardCommand } from "./dashboard.js";
import { EXPLAIN_USAGE, explainCommand } from "./explain.js";
import type { CliIo } from "./io.js";
import { REPLAY_USAGE, replayCommand } from "./replay.js";
import { REPORT_USAGE, reportCommand } from "./report.js";
import { SOLVE_USAGE, solveCommand } from "./solve.js";
import { STATUS_USAGE, statusCommand } from "./status.js";
import { TELL_USAGE, tellCommand } from "./tell.js";
import { VALIDATE_USAGE, validateCommand } from "./validate.js";

/** One `arqon` command: what it runs, its help text (usage line, then flags) and an example. */
export interface CliCommand {
  /** What the command is for, in a few words (the general help's list). */
  readonly summary: string;
  readonly run: (argv: readonly string[], io: CliIo) => ExitCode | Promise<ExitCode>;
  readonly usage: string;
  readonly example: string;
}

/** Every `arqon` command by name, in the order the general help lists them. */
export const COMMANDS: Readonly<Record<string, CliCommand>> = {
  validate: {
    summary: "check a solver config file",
    run: validateCommand,
    usage: VALIDATE_USAGE,
    example: "arqon validate --config study.json",
  },
  ask: {
    summary: "ask a saved solver for trials (state kept between calls)",
    run: askCommand,
    usage: ASK_USAGE,
    example: "arqon ask --state run.json --config study.json --batch 4",
  },
  tell: {
    summary: "tell a saved solver the results of its trials",
    run: tellCommand,
    usage: TELL_USAGE,
    example: `echo '[{"id":1,"value":0.42}]' | arqon tell --state run.json`,
  },
  report: {
    summary: "record a trial's intermediate value and ask whether to prune it",
    run: reportCommand,
    usage: REPORT_USAGE,
    example: "arqon report --state run.json --id 3 --step 10 --value 0.42",
  },
  solve: {
    summary: "minimise the number a command prints, trial by trial",
    run: solveCommand,
    usage: SOLVE_USAGE,
    example: "arqon solve --config study.json --state run/ --concurrency 2 -- node train.js",
  },
  status: {
    summary: "show where a saved run stands",
    run: statusCommand,
    usage: STATUS_USAGE,
    example: "arqon status --state run.json",
  },
  dashboard: {
    summary: "serve the local dashboard (live demo or a recording)",
    run: dashboardCommand,
    usage: DASHBOARD_USAGE,
    example: "arqon dashboard --log audit.jsonl --port 8080",
  },
  replay: {
    summary: "check that a decision log replays bit for bit",
    run: replayCommand,
    usage: REPLAY_USAGE,
    example: "arqon replay logs/run-1 --context 10",
  },
  explain: {
    summary: "show what produced one generation of a decision log",
    run: explainCommand,
    usage: EXPLAIN_USAGE,
    example: "arqon explain logs/run-1 --generation 12",
  },
};

/** The names of every command. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** The command called `name`, or `undefined` (an own key only: `toString` is not a command). */
export function commandNamed(name: string): CliCommand | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** The full help of one command: its usage and flags, then an example. */
export function commandHelp(command: CliCommand): string {
  return `${command.usage}\n\nExample:\n  ${command.example}\n`;
}
