/**
 * The gate ledger: every gate verdict a benchmark prints is counted here, so `bench/run.ts` can
 * exit non-zero when any gate failed (a FAIL in a table must never end in a green run).
 *
 * @remarks
 * The count lives on `globalThis` under a registered symbol rather than in a module variable: a
 * benchmark reached through another loader path (tsx resolves `.js` and `.ts` specifiers, file
 * URLs and relative paths separately) gets its own copy of this module, and its failures must
 * still be seen by the runner.
 */

const LEDGER = Symbol.for("arqon.bench.failedGates");

interface Ledger {
  [LEDGER]?: number;
}

/** Counts one failed gate (called by `verdict(false)` in `table.ts`). */
export function recordFailedGate(): void {
  const ledger = globalThis as Ledger;
  ledger[LEDGER] = (ledger[LEDGER] ?? 0) + 1;
}

/** How many gates failed since the last call, and resets the count (one benchmark at a time). */
export function takeFailedGates(): number {
  const ledger = globalThis as Ledger;
  const count = ledger[LEDGER] ?? 0;
  ledger[LEDGER] = 0;
  return count;
}
