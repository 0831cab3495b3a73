import { ConfigError, errorMessage } from "../errors.js";
import { packageVersion } from "../package-version.js";
import { didYouMean } from "../suggest.js";
import { splitAtDoubleDash } from "./args.js";
import { CliError, type ExitCode, oneLine } from "./cli-error.js";
import { COMMAND_NAMES, COMMANDS, commandHelp, commandNamed, type LoadedCommand } from "./commands.js";
import type { CliIo } from "./io.js";

/** Help text of `arqon` as a whole: one line per command; `arqon help <command>` has the details. */
export const USAGE = `arqon — deterministic ask/tell black-box minimisation

Usage: arqon <command> [flags]
       arqon help <command>      the command's flags and an example (same as arqon <command> --help)
       arqon --version           the installed version

JSON goes to stdout, progress and errors to stderr. Exit codes: 0 success, 1 the run failed,
2 bad input (flags, JSON, config, results), 130 interrupted by Ctrl-C, 143 and 129 ended by
SIGTERM and SIGHUP (arqon solve saves first), 141 output went to a closed pipe.

Commands:
${COMMAND_NAMES.map((name) => `  arqon ${name.padEnd(10)} ${COMMANDS[name]!.summary}`).join("\n")}

Run arqon help <command> for its flags and an example.`;

/**
 * Runs the `arqon` command line with `argv` (the arguments after the program name) against `io` and
 * resolves to the exit code. Never throws: every failure becomes one line on stderr and a non-zero
 * code (2 for usage and configuration errors, 1 for runtime failures).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V") {
    io.stdout(`${packageVersion()}\n`);
    return 0;
  }
  if (name === "help" || name === "--help" || name === "-h")
    return await help(name === "help" ? rest : [], io);
  const command = name === undefined ? undefined : commandNamed(name);
  if (command === undefined || name === undefined) {
    io.stderr(`${unknownCommand(name)}\n`);
    return 2;
  }
  const { flags } = splitAtDoubleDash(rest);
  try {
    const loaded = await command.load();
    if (flags.includes("--help") || flags.includes("-h")) {
      io.stdout(commandHelp(command, loaded));
      return 0;
    }
    return await loaded.run(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      // Loaded here: it reads the config schema, which `arqon --help` has no need of.
      const { describeConfigIssues } = await import("./config-issues.js");
      io.stderr(`arqon ${name}: invalid config: ${describeConfigIssues(error.issues)}\n`);
      return 2;
    }
    io.stderr(`arqon ${name}: unexpected failure: ${oneLine(errorMessage(error))}\n`);
    return 1;
  }
}

/** `arqon help [command]`: the general help, or one command's help. */
async function help(topics: readonly string[], io: CliIo): Promise<ExitCode> {
  const [topic, ...extra] = topics;
  if (topic === undefined || topic === "help") {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const command = commandNamed(topic);
  if (command === undefined || extra.length > 0) {
    io.stderr(
      command === undefined
        ? `${unknownCommand(topic)}\n`
        : `arqon help: expected one command, got ${topics.length} (arqon help ${topic})\n`,
    );
    return 2;
  }
  let loaded: LoadedCommand;
  try {
    loaded = await command.load();
  } catch (error) {
    io.stderr(`arqon help: cannot load the ${topic} command: ${oneLine(errorMessage(error))}\n`);
    return 1;
  }
  io.stdout(commandHelp(command, loaded));
  return 0;
}

/** The error line for a missing or unknown command, with a suggestion for a misspelt one. */
function unknownCommand(name: string | undefined): string {
  if (name === undefined)
    return `arqon: missing command; expected one of ${COMMAND_NAMES.join(", ")} (see arqon --help)`;
  const hint = didYouMean(name, COMMAND_NAMES);
  return (
    `arqon: unknown command ${JSON.stringify(name)}` +
    (hint === undefined ? `; expected one of ${COMMAND_NAMES.join(", ")}` : `; ${hint}`) +
    " (see arqon --help)"
  );
}
