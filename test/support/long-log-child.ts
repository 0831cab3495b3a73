/**
 * Reads the decision log in argv[3] in a process whose heap the parent capped, and prints what it
 * read as one JSON line: `resume` and `resume-async` its resume point, `compact` a compaction to
 * its last 10 records, `replay-log` the number of events `readReplayLog` holds (all of them).
 */
import { compactDecisionLog } from "../../src/log/compact.js";
import { readReplayLog } from "../../src/replay/read-log.js";
import { resumePoint, resumePointAsync } from "../../src/replay/resume-point.js";

const [mode, dir] = process.argv.slice(2) as [string, string];
const result =
  mode === "resume"
    ? resumePoint(dir)
    : mode === "resume-async"
      ? await resumePointAsync(dir)
      : mode === "compact"
        ? compactDecisionLog(dir, 10).recordsKept
        : readReplayLog(dir).runs[0]!.events.length;
process.stdout.write(`${JSON.stringify({ result, heapMb: process.memoryUsage().heapUsed / 2 ** 20 })}\n`);
