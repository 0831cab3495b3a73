/**
 * The version of the rules by which an engine decides: what it proposes, applies, refuses, trips
 * and resets, given the same inputs and the same resolved options.
 *
 * @remarks
 * A decision log records it in its header (`rules`), so that a replay that diverges can tell a
 * log recorded under other rules (a correction since, which is expected to change some decisions)
 * from a log of today's rules (a divergence that needs explaining). Raise it by one with every
 * change that makes the engine decide differently from the same log; a change of a default does
 * not count, since replay rebuilds each run from its recorded options. When the change also makes
 * a golden decision log replay differently, record a new one beside the old ones
 * (`scripts/golden-fixtures.ts`).
 *
 * History (docs/guide/decision-log.md, "Which rules decided a log", says the same):
 * - absent: logs written before the rules were versioned (every log up to commit fd7027c, the
 *   golden logs v1–v3 among them); corrections made before then are listed in that guide.
 * - 1: the rules when versioning began (commit d1dc66a).
 * - 2: a burst of non-finite objectives counts for one generation (NaNs measured before an apply no
 *   longer complete a burst that blames it), and a window's time limit runs from the end of the
 *   settle period (`settleMs`), not from the apply.
 * - 3: constraint-first with hysteresis: `constraintViolation` clears only with a margin ≥ 0 measured
 *   at the centre once the centre is clear of the boundary (found infeasible itself, or a feasibility
 *   step left both perturbed points feasible), each turn to feasibility halves the gradient steps
 *   (doubling back after 50 steps without one), and no divergence is judged against a level
 *   measured at an infeasible baseline.
 * - 4: an acknowledged reset ends rules 3's wait for a feasible centre before the governor judges
 *   divergence again (under 3 it waited for ever after a violation measured at the baseline).
 * - 5: a digest whose observation rolled the engine back (a spike, a constraint emergency) feeds
 *   no window: under 4 it was the first value of the restored point's window (counted `unused` now).
 * - 6: a throwing `onApply` whose push of the baseline fails is only counted by its breaker, as a
 *   rejecting one is: under 5 it rolled back a second time, spending `rollbacksPerHour`. Also from
 *   6 (audit only, no decision changes): a full audit ring keeps its last room for control records.
 * - 7: `constraintViolation` clears at the close of a centre window that held no negative margin,
 *   whose value feeds no cycle: under 6 the first margin ≥ 0 there cleared it, and noisy margins
 *   near 0 restarted the cycle every few digests, so no window of several digests ever filled.
 * - 8: an `onApply` outage (failures with no success between) spends one of `rollbacksPerHour`,
 *   at its first failure: under 7 each rollback it caused spent one, an outage often two, and two
 *   short outages in an hour halted the engine.
 * - 9: the spike rule's "m times worse" reads mean / m for a clean mean below 0 (under 8 it read
 *   m × |mean|, which no value below 0 exceeds, so a negated objective never spiked); and an
 *   automatic rollback the audit ring has no room to record does not happen (under 8 it happened,
 *   unrecorded). Its records of a feasibility step carry the current k and the room fraction 0.25
 *   as the gain (under 8, k − 1 and a stale a_k), so a rules-8 log with one replays differently.
 * - 10: a spike or divergence trip that the rollback probe finds was the plant's (the regression
 *   persisted at the known-good configuration) is taken back with the SafeMode it raised: the mode returns at once to
 *   the one the trip found unless another reason was raised since (under 9 it stayed frozen for the
 *   dwell, then conservative for another), and a second trip during the probe keeps the first
 *   one's way back (under 9 the walk back went to the baseline).
 * - 11: a digest's time checks (settling, too old, from the future) and its generation come before
 *   its objective's: under 10 a NaN they would refuse was non-finite, and three for the live
 *   generation rolled the last apply back (a restart while settling), halting the engine on repeat.
 * - 12 (audit only, no decision changes): a command refused after its `command` record was written
 *   (it could not be made durable) is followed by a `command.refused` record, and a replay refuses
 *   it too; under 11 nothing said it took no effect, and a replay ran it.
 * - 13 (audit only, no decision changes): a digest both older than `maxAgeMs` and stamped before
 *   the last apply settled is rejected as too-old; under 12 it was settling.
 * - 14: the regime detector sees only digests that go into an evaluation window, and learns its
 *   level once its warm-up holds digests of every point kind (centre, plus, minus). Under 13 it saw
 *   every accepted digest, and with telemetry far faster than the applies it learnt its level at
 *   one point and took the next point's cost for a shift of the environment, hundreds of times a
 *   minute (SPSA never stepped). A shift while the cycle is paused is no longer judged.
 * - 15: after a rise the engine followed as the environment's (a trip taken back, or a shift judged
 *   exogenous), a significant fall of the objective makes the governor measure its reference again
 *   from there (once, at the fall's start). Under 14 the reference stayed at the followed level: after an outage it was the
 *   outage's, and regressions the tuner caused afterwards stayed under it and never tripped.
 * - 16: from the 4th to the 8th second difference, the SPSA noise model judges the first ones by
 *   their median and MAD: one more than 8 MAD-scaled deviations out is clipped there, and the
 *   noise and curvature statistics are those of the clipped samples. Under 15 they were the
 *   running ones, and a first probe past a cliff (a pool one size above saturation) set both for
 *   hundreds of iterations, cutting `a` by orders of magnitude.
 * - 17: a spike held at the perturbed points trips the governor: 2 × `spikeHold` tries in a row
 *   whose perturbed window was mostly cost spikes, on one side of an unmoved centre, the centre
 *   clean between them (under 16 each such window was measured again, for ever, next to a cliff).
 *   A window is marked anomalous only by digests it takes (under 16, also by those measured while
 *   the cycle waited to apply its next point). A governor spike or divergence rolls back with
 *   reason `regression` (under 16, `safe-mode`, which now names a non-finite objective's or a failed
 *   actuator's rollback only).
 * - 18: a window is measured again only when more of its digests were anomalous at one end than
 *   its aggregate ignores there (a trimmed mean's dropped values at each end, all but the middle
 *   for a median, none for a mean), or one was an outlier; an excursion still under way when its
 *   window closes counts in the next window too. Under 17 one anomalous digest did it, and
 *   tailed telemetry in windows of 60 (a spike in 2 % of requests) was measured again in most
 *   windows: 7 decisions in two minutes where clean telemetry made 133.
 * - 19: a stall is a bounce (towards `shortWindows` and the window stretch) unless telemetry
 *   flowed since the stall before: a digest more than `window.ms` after the first one since then,
 *   with an iteration's digests (3 × `window.digests`) or `stallAfter` × `ms` since it (under 18:
 *   unless a window filled after the resume). A stretch makes room for a window's digests in
 *   bursts, not one digest per spacing. A stretched limit is given up after three or more fills in
 *   a row with no timeout between, within `ms` for `stallAfter` × `ms` or within `stallAfter` × `ms`
 *   − `ms` for twice the stretched limit, and shortened to twice the longest wait after eight fills
 *   within a quarter of it (under 18: given up after any three fills within `ms`, timeouts between
 *   them included, and never shortened). A service reporting in bursts (several digests a few ms
 *   apart, every 2 s) never completed an iteration under 18 and was never flagged; now it is
 *   stretched to the bursts' pace and tunes.
 * - 20: a paused cycle (frozen, halted) opens its next window once the last one has had its time:
 *   its limit in force (`window.ms`, or a stretched one) after it opened, or `guardrails.minIntervalMs`
 *   with windows on a digest count alone; a window that times out reopens at once, as before.
 *   Under 19 it reopened as each closed: with per-request telemetry, thousands of windows a
 *   second, each audited and judged (SafeMode's healthy windows, the governor's divergence and a
 *   rollback probe's verdict were then milliseconds of telemetry).
 * - 21: after a rise the regime detector judged a shift of the environment, an estimate is used
 *   only once the objective has settled: its two windows average to the centre's value (the
 *   rise's digests at the centre, or the centre measured since), two measurements of the unmoved
 *   centre agree, or the detector has learnt the new level. Until then an estimate is dropped at
 *   its last window, which is measured again (`remeasure`). Under 20 a transient the same at
 *   every knob value (a backlog draining over 2 s) was stepped on as it decayed: the second
 *   window of each estimate measured less than the first, and the centre went from 5.7 to 18.4.
 * - 22: corrections of 20 and 21 found by review. A paused cycle rests for the configured
 *   `window.ms`, not a stretched limit (under 21, a limit stretched to 40 s by slow telemetry kept
 *   a frozen engine at one window per 40 s once the telemetry was fast again, and SafeMode's step
 *   down took 81 s instead of 2 s), and windows on a digest count alone rest at least 100 ms (with
 *   `minIntervalMs` 0 they did not rest at all). After a shift, a centre window under way when the
 *   shift is judged is not compared with the rise's digests at the centre, which include its own:
 *   under 21 it agreed with itself, and a backlog draining over 2 s was stepped on as under 20.
 */
export const DECISION_RULES = 22;
