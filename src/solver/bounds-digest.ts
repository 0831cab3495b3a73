import { jsonKey } from "../space/params.js";
import type { SolverConfig } from "./config.js";
import { explicitSolverConfig } from "./explicit-config.js";

/**
 * A short digest of the parameters `config` declares, in their order, every default written in and
 * each one's keys sorted (as a shared study compares configs): a saved run records it, since its
 * trials are kept as positions within those parameters and read back through them. Two configs
 * that declare the same parameters, defaults written out or left out, give the same digest; any
 * other change to a parameter gives another one (but for a 1 in 2³² collision, which is no concern
 * for telling an edited file from its original).
 *
 * @throws ConfigError for an invalid config.
 */
export function boundsDigest(config: SolverConfig): string {
  const text = jsonKey(Object.entries(explicitSolverConfig(config).bounds));
  // FNV-1a over the UTF-16 code units: no dependency, and the solver runs in browsers too.
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}
