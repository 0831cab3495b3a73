import { type SolverConfig, solverConfigIssues } from "../solver/config.js";
import { parseFlags, requiredString } from "./args.js";
import { usageError } from "./cli-error.js";
import { describeConfigIssues } from "./config-issues.js";
import { parameterVariable, variableProblems } from "./env-names.js";
import type { CliIo } from "./io.js";
import { readJsonFile } from "./json-input.js";

/** Help text of `arqon validate`. */
export const VALIDATE_USAGE = `arqon validate --config <config.json>
  Checks a solver config, and that arqon solve can pass its parameters as ARQON_ variables.
  Prints {"ok":true,"parameters":[...],"variables":{"<name>":"ARQON_<NAME>",...},"budget":N}
  (variables: what arqon solve sets for each parameter) or exits 2 listing every problem.`;

/**
 * Reads the config file at `path` and returns it when valid; otherwise throws one usage error that
 * lists every problem with its path (`budget: …; bounds.x: …`).
 */
export function loadValidConfig(cwd: string, path: string): SolverConfig {
  return checkedConfig(readJsonFile(cwd, path, "config"), path, undefined);
}

/**
 * `config` when valid, else one usage error listing its problems, and `extra` (more problems, in
 * one line) after them.
 */
function checkedConfig(config: unknown, path: string, extra: string | undefined): SolverConfig {
  const issues = solverConfigIssues(config);
  if (issues.length > 0) {
    const listed = describeConfigIssues(issues);
    throw usageError(`invalid config ${path}: ${extra === undefined ? listed : `${listed}; ${extra}`}`);
  }
  if (extra !== undefined) throw usageError(`invalid config ${path}: ${extra}`);
  return config as SolverConfig;
}

/** `arqon validate`: validates a config file and summarises it as JSON on stdout. */
export function validateCommand(argv: readonly string[], io: CliIo): 0 {
  const flags = parseFlags("validate", argv, { config: { type: "string" } });
  if (flags.help === true) {
    io.stdout(`${VALIDATE_USAGE}\n`);
    return 0;
  }
  const path = requiredString("validate", flags, "config");
  const read = readJsonFile(io.cwd, path, "config");
  // What `arqon solve` would refuse is no valid config for it either (ask and tell pass no
  // variables): listed with the config's own problems, so one run names them all.
  const bounds = (read as { bounds?: unknown } | null)?.bounds;
  const config = checkedConfig(read, path, variableProblems(bounds));
  const parameters = Object.keys(config.bounds);
  const variables = Object.fromEntries(parameters.map((name) => [name, parameterVariable(name)]));
  io.stdout(`${JSON.stringify({ ok: true, parameters, variables, budget: config.budget })}\n`);
  return 0;
}
