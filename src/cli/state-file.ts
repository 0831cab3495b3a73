import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { restoreSolver, type Solver } from "../index.js";
import { runtimeError, usageError } from "./cli-error.js";
import { readJsonFile } from "./json-input.js";

/**
 * The solver saved in the state file at `path` (relative to `cwd`), or `undefined` when there is no
 * such file. A file that exists but is not a valid solver artifact is a usage error.
 *
 * @remarks
 * The state file holds `solver.toJSON()`: the config, every told result, the pending trials and the
 * strategy's internal state (PRNG included), so the restored solver asks exactly what the original
 * would have asked next.
 */
export function loadSolverState(cwd: string, path: string): Solver | undefined {
  if (!existsSync(resolve(cwd, path))) return undefined;
  const artifact = readJsonFile(cwd, path, "state");
  try {
    return restoreSolver(artifact);
  } catch (error) {
    throw usageError(`state file ${path} is not a valid arqon solver state: ${(error as Error).message}`);
  }
}

let tmpCounter = 0;

/**
 * Writes the solver's state to `path` (relative to `cwd`) atomically: the JSON goes to a temporary
 * file in the same directory, is flushed to disk, then renamed over `path`. A crash or kill at any
 * moment leaves either the old complete file or the new complete one, never a torn file.
 *
 * @remarks
 * Synchronous on purpose: saves issued one after another land in that order even when trials finish
 * concurrently, so an older state can never overwrite a newer one.
 */
export function saveSolverState(cwd: string, path: string, solver: Solver): void {
  const target = resolve(cwd, path);
  const text = `${JSON.stringify(solver.toJSON())}\n`;
  const tmp = `${target}.${process.pid}.${tmpCounter++}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw runtimeError(`cannot save state file ${path}: ${(error as Error).message}`);
  }
}
