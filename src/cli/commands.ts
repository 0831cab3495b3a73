import type { ExitCode } from "./cli-error.js";
import type { CliIo } from "./io.js";

/** What a command's module gives: the command itself and its help text (usage line, then flags). */
export interface LoadedCommand {
  readonly run: (argv: readonly string[], io: CliIo) => ExitCode | Promise<ExitCode>;
  readonly usage: string;
}

/** One `arqon` command: what it is for, how to load it, and an example. */
export interface CliCommand {
  /** What the command is for, in a few words (the general help's list). */
  readonly summary: string;
  /**
   * Imports the command's module. Only the command run is loaded: a call of `arqon ask` does not
   * pay for the dashboard's, the replayer's or the Redis client's modules.
   */
  readonly load: () => Promise<LoadedCommand>;
  readonly example: string;
}

/** Every `arqon` command by name, in the order the general help lists them. */
export const COMMANDS: Readonly<Record<string, CliCommand>> = {
  validate: {
    summary: "check a solver config file",
    load: () => import("./validate.js").then((m) => ({ run: m.validateCommand, usage: m.VALIDATE_USAGE })),
    example: "arqon validate --config study.json",
  },
  ask: {
    summary: "ask a saved solver for trials (state kept between calls)",
    load: () => import("./ask.js").then((m) => ({ run: m.askCommand, usage: m.ASK_USAGE })),
    example: "arqon ask --state run.json --config study.json --batch 4",
  },
  tell: {
    summary: "tell a saved solver the results of its trials",
    load: () => import("./tell.js").then((m) => ({ run: m.tellCommand, usage: m.TELL_USAGE })),
    example: `echo '[{"id":1,"value":0.42}]' | arqon tell --state run.json`,
  },
  report: {
    summary: "record a trial's intermediate value and ask whether to prune it",
    load: () => import("./report.js").then((m) => ({ run: m.reportCommand, usage: m.REPORT_USAGE })),
    example: "arqon report --state run.json --id 3 --step 10 --value 0.42",
  },
  solve: {
    summary: "minimise the number a command prints, trial by trial",
    load: () => import("./solve.js").then((m) => ({ run: m.solveCommand, usage: m.SOLVE_USAGE })),
    example: "arqon solve --config study.json --state run/ --concurrency 2 -- node train.js",
  },
  status: {
    summary: "show where a saved run stands",
    load: () => import("./status.js").then((m) => ({ run: m.statusCommand, usage: m.STATUS_USAGE })),
    example: "arqon status --state run.json",
  },
  dashboard: {
    summary: "serve the local dashboard (live demo or a recording)",
    load: () => import("./dashboard.js").then((m) => ({ run: m.dashboardCommand, usage: m.DASHBOARD_USAGE })),
    example: "arqon dashboard --log audit.jsonl --port 8080",
  },
  replay: {
    summary: "check that a decision log replays bit for bit",
    load: () => import("./replay.js").then((m) => ({ run: m.replayCommand, usage: m.REPLAY_USAGE })),
    example: "arqon replay logs/run-1 --context 10",
  },
  explain: {
    summary: "show what produced one generation of a decision log",
    load: () => import("./explain.js").then((m) => ({ run: m.explainCommand, usage: m.EXPLAIN_USAGE })),
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
export function commandHelp(command: CliCommand, loaded: LoadedCommand): string {
  return `${loaded.usage}\n\nExample:\n  ${command.example}\n`;
}
