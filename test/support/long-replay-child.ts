/**
 * Replays the decision log in argv[2] in a process whose heap the parent capped, and prints what
 * `replay` found as one JSON line: whether every run replayed identically, the records compared,
 * and where the first divergence is, if any.
 */
import { replay } from "../../src/replay/replay.js";

const result = await replay(process.argv[2]!);
const found = result.ok
  ? { ok: true, records: result.records }
  : { ok: false, seq: result.divergence.seq, reason: result.divergence.reason };
process.stdout.write(
  `${JSON.stringify({ result: found, heapMb: process.memoryUsage().heapUsed / 2 ** 20 })}\n`,
);
