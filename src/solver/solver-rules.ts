/**
 * The version of the rules by which a solver proposes: which trials an ask hands out, and how
 * many, given the same configuration, seed and calls before it.
 *
 * @remarks
 * A solver log and a shared study's journal rebuild a solver by replaying its calls, so they are
 * only read back under the rules that wrote them. Both record it (a solver log's header and
 * snapshots, a study's create entry as `rules`): a solver log that diverges under other rules says
 * so, and a worker whose rules differ from its study's is refused before it replays anything,
 * since the journal records trial ids, not points, and would pair results with other points.
 * Raise it by one with every change that makes an ask return other trials from the same calls,
 * a changed default included: a log or a journal records the configuration as it was given, and
 * its defaults are filled in again when it is read (`test/solver-rules.test.ts` pins the trials
 * of a set of runs under the current version, and fails when they change).
 *
 * History (docs/concepts/solver-rules.md says the same):
 * - absent: logs and studies begun before the rules were versioned (up to commit 3ee1a03).
 *   Proposals on int and categorical spaces changed shortly before, at 9223aca (TPE passes over
 *   taken cells) and at 4e275a3 (the trust region's neighbouring-cell step).
 * - 1: the rules when versioning began.
 * - 2: forced Nelder–Mead on a mixed space starts where a float or an int is active (it asked one
 *   point over and over when the best probe point's branch had nothing to move).
 * - 3: with trials running, the default strategy's trust region keeps its proposals off the int
 *   cells of running trials (its uniform fallback widening beyond the region to find a free one),
 *   and its opening global phase goes on while a probe result is out instead of handing out
 *   nothing. One trial at a time, every proposal is as under 2.
 * - 4: with trials running, a region trial drawn from beyond the region (no free int cell left in
 *   it) counts towards the local phase's end as a repeated value does, so an int branch's phase
 *   ends as it does one trial at a time. One trial at a time, every proposal is as under 3.
 * - 5: on a mixed space, the room the default strategy keeps for a new simplex (`localRoom`) is
 *   counted in the float and int parameters the simplex moves, not in every parameter: a small
 *   budget on a space with categorical parameters was held in its global phase to the end.
 * - 6: asked for more trials than the probe has left before any value came back, the solver grows
 *   the probe by the difference instead of handing out nothing (more workers than probe points
 *   idled until the first value). A run that never asks past the probe before its first value
 *   (one trial at a time; fewer workers than probe points, unless the probe's first trials all
 *   fail or are pruned) proposes as under 5.
 */
export const SOLVER_RULES = 6;

/** Whether `rules`, read from a log or a journal, names a solver-rules version. */
export function isSolverRules(rules: unknown): rules is number {
  return typeof rules === "number" && Number.isSafeInteger(rules) && rules >= 1;
}

/**
 * When something recorded under `recorded` (undefined when it recorded none) was recorded, if not
 * under today's rules: "under solver rules N" or "before solver rules were versioned"; null under
 * today's rules.
 */
export function otherSolverRules(recorded: number | undefined): string | null {
  if (recorded === SOLVER_RULES) return null;
  return recorded === undefined ? "before solver rules were versioned" : `under solver rules ${recorded}`;
}
