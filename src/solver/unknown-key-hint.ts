import { closestName, didYouMean } from "../suggest.js";

/**
 * The hints an unknown key of a solver config gets in its `ConfigError`: the key meant
 * (`bugdet` → budget), the type a parameter's key is for (`step` on a categorical), or Optuna's name for
 * it (`log: true` → `"scale": "log"`).
 */

/** The keys a solver config allows where they are not fixed here (given by `config.ts`, which owns them). */
export interface SolverKeys {
  /** At the top level (`inspect` left out: a function, never JSON). */
  readonly top: readonly string[];
  /** Of a pruner, by its kind. */
  readonly pruner: Readonly<Record<string, readonly string[]>>;
  /** Of `autoOptions`, the default strategy's options. */
  readonly auto: readonly string[];
}

/** Keys of one parameter under `bounds.<name>`, by its `type` (float when omitted). */
const BOUND_KEYS: Readonly<Record<string, readonly string[]>> = {
  float: ["type", "min", "max", "step", "scale", "when"],
  int: ["type", "min", "max", "step", "scale", "when"],
  categorical: ["type", "choices", "when"],
};
/** Optuna's names for settings arqon names otherwise, by level: what to write instead. */
const OPTUNA_NAMES = {
  bound: {
    low: 'use "min"',
    high: 'use "max"',
    log: 'use "scale": "log"',
    q: 'use "step" (on a float or int)',
  },
  top: { n_trials: 'use "budget"', sampler: 'use "strategy"' },
} as const;

/**
 * The hint for the unknown key at `path` in the solver config `config`: the nearest allowed key at
 * that level (`did you mean budget?`), or for a parameter's key of another kind, the type it needs
 * (`choices is only for type "categorical"`). `undefined` when there is none.
 */
export function unknownSolverKeyHint(
  config: unknown,
  path: readonly string[],
  keys: SolverKeys,
): string | undefined {
  const key = path.at(-1) ?? "";
  if (path.length === 3 && path[0] === "bounds") {
    const own = BOUND_KEYS[parameterKind(config, path[1]!)] ?? [];
    const onlyFor = (name: string) =>
      `only for type ${kindsWith(name)
        .map((k) => JSON.stringify(k))
        .join(" or ")}`;
    if (kindsWith(key).length > 0) return `${key} is ${onlyFor(key)}`;
    if (Object.hasOwn(OPTUNA_NAMES.bound, key))
      return OPTUNA_NAMES.bound[key as keyof typeof OPTUNA_NAMES.bound];
    // A misspelt key of another kind ("stpe" on a float) is named with the type it needs.
    const near = closestName(key, [...new Set(Object.values(BOUND_KEYS).flat())]);
    if (near === undefined) return own.length === 0 ? undefined : `known: ${own.join(", ")}`;
    return own.includes(near) ? `did you mean ${near}?` : `did you mean ${near}? it is ${onlyFor(near)}`;
  }
  // A switch written as its own key: the known keys hold no near name to suggest.
  if (path.length === 1 && /^(maximi[sz]e|minimi[sz]e)$/i.test(key))
    return `use "direction": "${key.toLowerCase().startsWith("max") ? "maximize" : "minimize"}"`;
  if (path.length === 1 && (key === "n_trials" || key === "sampler")) return OPTUNA_NAMES.top[key];
  const beside = solverKeysBeside(config, path, keys);
  return didYouMean(key, beside) ?? (beside.length === 0 ? undefined : `known: ${beside.join(", ")}`);
}

/** The parameter kinds that take `key`. */
function kindsWith(key: string): string[] {
  return Object.keys(BOUND_KEYS).filter((kind) => BOUND_KEYS[kind]!.includes(key));
}

/** The `type` of parameter `name` in `config` ("float" when omitted), as written. */
function parameterKind(config: unknown, name: string): string {
  const bounds = (config as { bounds?: unknown } | null)?.bounds;
  if (typeof bounds !== "object" || bounds === null || !Object.hasOwn(bounds, name)) return "";
  const type = (bounds as Record<string, { type?: unknown } | null>)[name]?.type ?? "float";
  return typeof type === "string" && Object.hasOwn(BOUND_KEYS, type) ? type : "";
}

/**
 * The keys allowed beside an unknown key at `path` in the solver config `config`, outside `bounds`,
 * if that level is known (a pruner's keys are those of its own `kind`).
 */
function solverKeysBeside(config: unknown, path: readonly string[], keys: SolverKeys): readonly string[] {
  if (path.length === 1) return keys.top;
  if (path.length === 2 && path[0] === "autoOptions") return keys.auto;
  if (path.length === 2 && path[0] === "pruner") {
    const kind = (config as { pruner?: { kind?: unknown } } | null)?.pruner?.kind;
    return typeof kind === "string" && Object.hasOwn(keys.pruner, kind) ? keys.pruner[kind]! : [];
  }
  return [];
}
