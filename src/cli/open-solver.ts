import { existsSync, statSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import type { FileLock } from "../log/lock.js";
import { type SolverConfig, savedSolverConfig } from "../solver/config.js";
import { configDifferences } from "../solver/config-differences.js";
import { explicitSolverConfig } from "../solver/explicit-config.js";
import { createSolver, type Solver } from "../solver/solver.js";
import { usageError } from "./cli-error.js";
import { isLogState, loadSolverState } from "./state-file.js";
import { realStatePath } from "./state-path.js";
import { loadValidConfig } from "./validate.js";

/** Where a command's solver comes from. */
export interface SolverSource {
  /** State file; restored from when it exists. */
  readonly statePath?: string | undefined;
  /** Config file; creates the solver when there is no state file. */
  readonly configPath?: string | undefined;
  /** The command's lock on a decision-log state (see `lockState`): the restored solver writes under it. */
  readonly logLock?: FileLock | undefined;
}

/**
 * A solver ready to use, whether it was just created (so nothing was saved yet), and by how many
 * trials a larger budget in `--config` grew the saved run (0 when it did not).
 */
export interface OpenedSolver {
  readonly solver: Solver;
  readonly created: boolean;
  readonly grown: number;
}

/**
 * Restores the solver from the state file if it exists, else creates it from the config file.
 *
 * @remarks
 * When both exist, the config file must be valid and equal to the config stored in the state: a run
 * silently continuing with another config than the one on the command line would be a trap. One
 * difference is taken: a larger budget grows the saved run (`Solver.extend`), as a second
 * `study.optimize` call goes on with an Optuna study. Neither present is a usage error naming what
 * to pass.
 */
export function openSolver(command: string, cwd: string, source: SolverSource): OpenedSolver {
  const restored =
    source.statePath === undefined ? undefined : loadSolverState(cwd, source.statePath, source.logLock);
  if (restored !== undefined) {
    if (source.configPath !== undefined) {
      const given = normalise(loadValidConfig(cwd, source.configPath));
      const kept = normalise(restored.toJSON().config);
      const growth = budgetGrowth(kept, given);
      if (growth > 0) {
        restored.extend(growth);
        return { solver: restored, created: false, grown: growth };
      }
      if (!isDeepStrictEqual(given, kept)) {
        const { bounds: keptBounds, ...keptRest } = kept;
        const { bounds: givenBounds, ...givenRest } = given;
        // probeSize is no key anyone writes: it follows from budget, probeRatio, the bounds and the start points,
        // so it is named only when nothing else differs.
        const { probeSize: _kept, ...keptWritten } = keptRest;
        const { probeSize: _given, ...givenWritten } = givenRest;
        const onlyProbeSize =
          isDeepStrictEqual(keptWritten, givenWritten) && isDeepStrictEqual(keptBounds, givenBounds);
        const where = configDifferences(
          [
            onlyProbeSize ? [keptRest, givenRest, ""] : [keptWritten, givenWritten, ""],
            [keptBounds, givenBounds, "bounds"],
          ],
          { kept: "the state", given: "--config" },
        );
        const budget =
          keptRest.budget !== givenRest.budget && isDeepStrictEqual(withoutBudget(kept), withoutBudget(given))
            ? " (a saved run's budget can grow, not shrink)"
            : "";
        throw usageError(
          `arqon ${command}: ${source.configPath} differs from the config stored in ${source.statePath} ` +
            `(${where.join("; ")}); drop --config to continue the saved run${budget}, or use a new --state file`,
        );
      }
    }
    return { solver: restored, created: false, grown: 0 };
  }
  if (source.configPath === undefined) {
    if (source.statePath === undefined) throw usageError(`arqon ${command}: --config is required`);
    throw missingStateError(command, cwd, source.statePath);
  }
  return { solver: createSolver(loadValidConfig(cwd, source.configPath)), created: true, grown: 0 };
}

/**
 * How many trials `given` adds to the saved run's budget when that is all it changes (the probe
 * size it implies aside, which a grown run keeps): else 0.
 */
function budgetGrowth(kept: Record<string, unknown>, given: Record<string, unknown>): number {
  const more = (given.budget as number) - (kept.budget as number);
  return more > 0 && isDeepStrictEqual(withoutBudget(kept), withoutBudget(given)) ? more : 0;
}

/** A normalised config without the budget and the probe size that follows from it. */
function withoutBudget(config: Record<string, unknown>): Record<string, unknown> {
  const { budget: _budget, probeSize: _probeSize, ...rest } = config;
  return rest;
}

/**
 * The usage error of `command` for a `--state` that holds no saved run, saying how to start one:
 * with `--config` for the commands that take it to create a run (`ask`, `solve`), else with
 * `arqon ask --config`. Commands check for it before taking the state's lock, which creates a
 * missing directory.
 */
export function missingStateError(command: string, cwd: string, statePath: string): Error {
  const how =
    command === "ask" || command === "solve"
      ? "pass --config to create it"
      : "create it with arqon ask --config";
  return usageError(`arqon ${command}: ${missingState(cwd, statePath)}; ${how}`);
}

/**
 * What is missing at a `--state` that holds no saved run: a file, or the run in a directory that
 * exists (made by the user, or by this command's lock, which removes it again if left empty).
 */
function missingState(cwd: string, path: string): string {
  const target = realStatePath(cwd, path);
  return existsSync(target) && statSync(target).isDirectory()
    ? `state directory ${path} holds no saved run`
    : `state file ${path} does not exist`;
}

/**
 * A config with every default written in (`explicitSolverConfig`), compared by content: a JSON
 * round trip drops `undefined`-valued keys so `{ batch: undefined }` and `{}` agree. A saved config
 * holding what a config can no longer say (`when: {}`) is read as it ran. The parameters' order is
 * not compared: the saved run keeps its own.
 */
function normalise(config: unknown): Record<string, unknown> {
  const plain = savedSolverConfig(JSON.parse(JSON.stringify(config))) as SolverConfig;
  return JSON.parse(JSON.stringify(explicitSolverConfig(plain, "saved")));
}

/** What a command prints when `--config` grew the saved run's budget. */
export function grownNote(grown: number, solver: Solver): string {
  return `budget grown by ${grown} to ${solver.config.budget} trials (--config has a larger budget than the saved run)`;
}

/**
 * What a command prints when it began a run because no state was at `statePath`: said even under
 * `--quiet`, since a mistyped path meant to resume a run shows nowhere else.
 */
export function newRunNote(cwd: string, statePath: string): string {
  const kind = isLogState(cwd, statePath) ? "a decision-log directory" : "a snapshot file";
  return `new run: no state at ${statePath} yet; it is saved there, as ${kind}`;
}
