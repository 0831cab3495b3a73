/**
 * One read of a long decision log for bench/log-reads.ts, in a process of its own so that its peak
 * resident memory is the read's: argv[2] is the read (`idle` reads nothing: the process alone;
 * `explain` explains the generation the resume point names, found before the timing starts),
 * argv[3] the log directory. Prints one JSON line: wall ms, peak RSS and heap after, in MB.
 */
import { compactDecisionLog } from "../src/log/compact.js";
import { explain } from "../src/replay/explain.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { resumePoint, resumePointAsync } from "../src/replay/resume-point.js";
import { peakRssMb } from "./peak-rss.js";

const [read, dir] = process.argv.slice(2) as [string, string];
// The generation explain is asked about, read before the timing starts: the last run's last tuned point.
const explained = read === "explain" ? (resumePoint(dir)?.generation ?? 0) : 0;
const reads: Record<string, () => unknown> = {
  idle: () => undefined,
  resumePoint: () => resumePoint(dir)?.generation,
  resumePointAsync: () => resumePointAsync(dir).then((point) => point?.generation),
  compactDecisionLog: () => compactDecisionLog(dir, 10_000).recordsKept,
  readReplayLog: () => readReplayLog(dir).runs.reduce((sum, run) => sum + run.events.length, 0),
  replay: () => replay(dir).then((result) => (result.ok ? result.records : "diverged")),
  explain: () => explain(dir, explained).windows.length,
};
const start = performance.now();
const result = await reads[read]!();
const ms = performance.now() - start;
const mb = (bytes: number) => bytes / 2 ** 20;
process.stdout.write(
  `${JSON.stringify({ result, ms, peakRssMb: peakRssMb(), heapMb: mb(process.memoryUsage().heapUsed) })}\n`,
);
