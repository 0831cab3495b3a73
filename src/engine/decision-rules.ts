/**
 * The version of the rules by which an engine decides: what it proposes, applies, refuses, trips
 * and resets, given the same inputs and the same resolved options.
 *
 * @remarks
 * A decision log records it in its header (`rules`), so that a replay that diverges can tell a
 * log recorded under other rules (a correction since, which is expected to change some decisions)
 * from a log of today's rules (a divergence that needs explaining). Raise it by one with every
 * change that makes the engine decide differently from the same log, and record a new golden
 * decision log beside the old ones (`scripts/golden-fixtures.ts`); a change of a default does not
 * count, since replay rebuilds each run from its recorded options.
 *
 * History (docs/guide/decision-log.md, "Which rules decided a log", says the same):
 * - absent: logs written before the rules were versioned (every log up to commit fd7027c, the
 *   golden logs v1–v3 among them); corrections made before then are listed in that guide.
 * - 1: the rules from then on.
 */
export const DECISION_RULES = 1;
