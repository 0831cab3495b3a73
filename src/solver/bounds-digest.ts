import { jsonKey, type ParamInput } from "../space/params.js";
import type { SolverConfig } from "./config.js";

/**
 * A short digest of the parameters `config` declares, in their order: a saved run records it,
 * since its trials are kept as positions within those parameters and read back through them.
 * Each parameter is read with the defaults it had when digests began (a float's type and scale,
 * an int's step and scale) and its keys sorted, so a default written out or left out gives the
 * same digest, and so does a later version whatever defaults it adds: the digest must read the
 * same in every version that restores the run. Any other change to a parameter gives another one
 * (but for a 1 in 2³² collision, no concern for telling an edited file from its original). A key
 * a later version adds to a parameter kind is not in the digest until it is added to
 * {@link frozenForm}, with the default it stands for left out. `config` must be valid.
 */
export function boundsDigest(config: SolverConfig): string {
  return textDigest(jsonKey(Object.entries(config.bounds).map(([name, spec]) => [name, frozenForm(spec)])));
}

/** FNV-1a over the UTF-16 code units, as 8 hex digits: no dependency, and the solver runs in browsers too. */
export function textDigest(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** `spec` with the defaults of the first digests written in, and only the keys they knew. */
function frozenForm(spec: ParamInput): Record<string, unknown> {
  const when = spec.when === undefined ? {} : { when: spec.when };
  if (spec.type === "categorical") return { type: "categorical", choices: spec.choices, ...when };
  if (spec.type === "int") {
    const { min, max } = spec;
    return { type: "int", min, max, step: spec.step ?? 1, scale: spec.scale ?? "linear", ...when };
  }
  // `step` came later: a float without one digests as before.
  const step = spec.step === undefined ? {} : { step: spec.step };
  return { type: "float", min: spec.min, max: spec.max, scale: spec.scale ?? "linear", ...step, ...when };
}
