/**
 * One read of a long decision log for bench/log-reads.ts, in a process of its own so that its peak
 * resident memory is the read's: argv[2] is the read (`idle` reads nothing: the process alone;
 * `explain` explains the generation the resume point names, found before the timing starts; the
 * two restarts start the log's engine again where its last run stopped, timed until it has started
 * and then closed), argv[3] the log directory. Prints one JSON line: wall ms, peak RSS and heap
 * after, in MB.
 */
import { compactDecisionLog } from "../src/log/compact.js";
import { explain } from "../src/replay/explain.js";
import { readReplayLog } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { resumedConfig, resumePoint, resumePointAsync } from "../src/replay/resume-point.js";
import { logBenchEngine } from "./log-bench-engine.js";
import { peakRssMb } from "./peak-rss.js";

const [read, dir] = process.argv.slice(2) as [string, string];
// The generation explain is asked about, read before the timing starts: the last run's last tuned point.
const explained = read === "explain" ? (resumePoint(dir)?.generation ?? 0) : 0;
// A restart's engine, closed once the timing has ended.
let started: { close(): Promise<void> } | undefined;
const reads: Record<string, () => unknown> = {
  idle: () => undefined,
  resumePoint: () => resumePoint(dir)?.generation,
  resumePointAsync: () => resumePointAsync(dir).then((point) => point?.generation),
  compactDecisionLog: () => compactDecisionLog(dir, 10_000).recordsKept,
  readReplayLog: () => readReplayLog(dir).runs.reduce((sum, run) => sum + run.events.length, 0),
  replay: () => replay(dir).then((result) => (result.ok ? result.records : "diverged")),
  explain: () => explain(dir, explained).windows.length,
  // The two-step restart: the resume point read, then the log read again as the opening verifies it.
  restartTwoReads: () => {
    const point = resumePoint(dir);
    started = logBenchEngine({ dir }, (config) => resumedConfig(config, point));
    return point?.generation;
  },
  restartResume: () => {
    const logged = logBenchEngine({ dir, resume: true });
    started = logged;
    return logged.resumedFrom?.generation;
  },
};
const start = performance.now();
const result = await reads[read]!();
const ms = performance.now() - start;
await started?.close();
const mb = (bytes: number) => bytes / 2 ** 20;
process.stdout.write(
  `${JSON.stringify({ result, ms, peakRssMb: peakRssMb(), heapMb: mb(process.memoryUsage().heapUsed) })}\n`,
);
