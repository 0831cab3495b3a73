/**
 * The small study the shared-study wait tests share: a Nelder–Mead simplex in two dimensions,
 * which can propose nothing while one of its points is pending, with its objective as a function
 * and as the script `arqon solve` runs.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir, writeJson } from "./cli-run.js";

const BOUNDS = { x: { min: -5, max: 5 }, y: { min: -5, max: 5 } };

/** The study's configuration, with `budget` trials. */
export function simplexConfig(budget: number) {
  return { seed: 3, budget, strategy: "nelder-mead" as const, bounds: BOUNDS };
}

/** Its objective: a sphere with its minimum, 0, at (1, -2). */
export const simplexObjective = (p: Record<string, unknown>): number =>
  ((p.x as number) - 1) ** 2 + ((p.y as number) + 2) ** 2;

/** The same objective as a script `arqon solve` runs, reading its ARQON_ variables. */
const OBJECTIVE_SCRIPT =
  "console.log((Number(process.env.ARQON_X) - 1) ** 2 + (Number(process.env.ARQON_Y) + 2) ** 2)";

/** A new directory holding `config` as c.json and the objective as objective.js. */
export function simplexWorkDir(config: object): string {
  const dir = tempDir();
  writeJson(dir, "c.json", config);
  writeFileSync(join(dir, "objective.js"), OBJECTIVE_SCRIPT);
  return dir;
}

/** `arqon solve` of study `study` at `storage`, with `flags` before the `--`, in such a directory. */
export function sharedSolveArgs(storage: string, study: string, flags: readonly string[] = []): string[] {
  return [
    "solve",
    "--config",
    "c.json",
    "--storage",
    storage,
    "--study",
    study,
    ...flags,
    "--",
    process.execPath,
    "objective.js",
  ];
}
