import { type SolverConfig, solverConfigIssues } from "../index.js";
import { parseFlags, requiredString } from "./args.js";
import { usageError } from "./cli-error.js";
import { describeConfigIssues, solverKeysBeside } from "./config-issues.js";
import type { CliIo } from "./io.js";
import { readJsonFile } from "./json-input.js";

/** Help text of `arqon validate`. */
export const VALIDATE_USAGE = `arqon validate --config <config.json>
  Checks a solver config. Prints {"ok":true,"parameters":[...],"budget":N} or exits 2 listing every problem.`;

/**
 * Reads the config file at `path` and returns it when valid; otherwise throws one usage error that
 * lists every problem with its path (`budget: …; bounds.x: …`).
 */
export function loadValidConfig(cwd: string, path: string): SolverConfig {
  const config = readJsonFile(cwd, path, "config");
  const issues = solverConfigIssues(config);
  if (issues.length > 0) {
    const keysBeside = (at: readonly string[]) => solverKeysBeside(config, at);
    throw usageError(`invalid config ${path}: ${describeConfigIssues(issues, keysBeside)}`);
  }
  return config as SolverConfig;
}

/** `arqon validate`: validates a config file and summarises it as JSON on stdout. */
export function validateCommand(argv: readonly string[], io: CliIo): 0 {
  const flags = parseFlags("validate", argv, { config: { type: "string" } });
  if (flags.help === true) {
    io.stdout(`${VALIDATE_USAGE}\n`);
    return 0;
  }
  const config = loadValidConfig(io.cwd, requiredString("validate", flags, "config"));
  io.stdout(
    `${JSON.stringify({ ok: true, parameters: Object.keys(config.bounds), budget: config.budget })}\n`,
  );
  return 0;
}
