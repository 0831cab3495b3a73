import type { ConfigIssue } from "../index.js";
import { PRUNER_KEYS, SolverConfigSchema } from "../solver/config.js";
import { GLOBAL_LOCAL_DEFAULTS } from "../solver/global-local.js";
import { didYouMean } from "./suggest.js";

/** Keys a JSON solver config may hold at its top level (`inspect` is a function, never JSON). */
const TOP_LEVEL_KEYS = Object.keys(SolverConfigSchema.fields).filter((key) => key !== "inspect");
/** Keys of one parameter under `bounds.<name>`, whatever its kind. */
const BOUND_KEYS = ["type", "min", "max", "scale", "step", "choices", "when"];
/** Keys of `autoOptions`, the default strategy's options. */
const AUTO_OPTION_KEYS = Object.keys(GLOBAL_LOCAL_DEFAULTS);

/**
 * The keys allowed beside an unknown key at `path` in the solver config `config`, if that level is
 * known (a pruner's keys are those of its own `kind`).
 */
export function solverKeysBeside(config: unknown, path: readonly string[]): readonly string[] {
  if (path.length === 1) return TOP_LEVEL_KEYS;
  if (path.length === 3 && path[0] === "bounds") return BOUND_KEYS;
  if (path.length === 2 && path[0] === "autoOptions") return AUTO_OPTION_KEYS;
  if (path.length === 2 && path[0] === "pruner") {
    const kind = (config as { pruner?: { kind?: unknown } } | null)?.pruner?.kind;
    return kind === "median" || kind === "asha" ? PRUNER_KEYS[kind] : [];
  }
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
      const hint = issue.message.startsWith("unknown key")
        ? didYouMean(key, keysBeside(segments))
        : undefined;
      // Effect's "is missing" reads as a sentence only with the key's path before it and a verb.
      const message = issue.message === "is missing" ? "required but missing" : issue.message;
      return `${where}: ${message}${hint === undefined ? "" : ` (${hint})`}`;
    })
    .join("; ");
}
