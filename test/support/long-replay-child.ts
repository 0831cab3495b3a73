/**
 * Reads the decision log in argv[2] in a process whose heap the parent capped, and prints one JSON
 * line: with no more arguments, what `replay` found (whether every run replayed identically, the
 * records compared, or where the first divergence is); with a generation as argv[3], what
 * `explain` says of it (the change, its windows' roles and digest counts, the run).
 */
import { explain } from "../../src/replay/explain.js";
import { replay } from "../../src/replay/replay.js";

const [dir, generation] = process.argv.slice(2) as [string, string | undefined];
let found: unknown;
if (generation === undefined) {
  const result = await replay(dir);
  found = result.ok
    ? { ok: true, records: result.records }
    : { ok: false, seq: result.divergence.seq, reason: result.divergence.reason };
} else {
  const e = explain(dir, Number(generation));
  found = {
    run: e.run,
    runCount: e.runCount,
    change: e.change,
    previousValues: e.previousValues,
    windows: e.windows.map((w) => ({ role: w.role, generation: w.generation, digests: w.digests.length })),
  };
}
process.stdout.write(
  `${JSON.stringify({ result: found, heapMb: process.memoryUsage().heapUsed / 2 ** 20 })}\n`,
);
