import type { ConfigIssue } from "../index.js";
import { SolverConfigSchema } from "../solver/config.js";
import { didYouMean } from "./suggest.js";

/** Keys a JSON solver config may hold at its top level (`inspect` is a function, never JSON). */
const TOP_LEVEL_KEYS = Object.keys(SolverConfigSchema.fields).filter((key) => key !== "inspect");
/** Keys of one parameter under `bounds.<name>`, whatever its kind. */
const BOUND_KEYS = ["type", "min", "max", "scale", "step", "choices", "when"];

/** The keys allowed beside an unknown key at `path` in a solver config, if that level is known. */
export function solverKeysBeside(path: readonly string[]): readonly string[] {
  if (path.length === 1) return TOP_LEVEL_KEYS;
  if (path.length === 3 && path[0] === "bounds") return BOUND_KEYS;
  return [];
}

/**
 * Config issues as one line, `path: message` joined by `"; "`. With `keysBeside` (the keys allowed
 * at a path's level), an unknown key that looks like a misspelt one gets a suggestion
 * (`bugdet: unknown key (did you mean budget?)`). The paths are the library's, unchanged.
 */
export function describeConfigIssues(
  issues: readonly ConfigIssue[],
  keysBeside: (path: readonly string[]) => readonly string[] = () => [],
): string {
  return issues
    .map((issue) => {
      const where = issue.path === "" ? "(root)" : issue.path;
      const segments = issue.path.split(".");
      const key = segments.at(-1) ?? "";
      const hint = issue.message === "unknown key" ? didYouMean(key, keysBeside(segments)) : undefined;
      // Effect's "is missing" reads as a sentence only with the key's path before it and a verb.
      const message = issue.message === "is missing" ? "required but missing" : issue.message;
      return `${where}: ${message}${hint === undefined ? "" : ` (${hint})`}`;
    })
    .join("; ");
}
