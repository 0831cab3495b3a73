/**
 * One engine's run for bench/log-live-compaction.ts, in a process of its own so that its memory
 * and its garbage collections are its own: argv[2] is the {@link LiveRun} as JSON. Prints one
 * JSON line: the {@link LiveRunFigures}.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { scanDecisionLog } from "../src/log/scan.js";
import type { LiveCompaction } from "../src/log/writer.js";
import { logBenchEngine } from "./log-bench-engine.js";
import { peakRssMb } from "./peak-rss.js";

/** Digests between two samples of the directory's size (100 ms at the default rate). */
const SAMPLE_EVERY = 2_000;

/** What one engine's run measured. */
export interface LiveRunFigures {
  readonly seconds: number;
  readonly digestsPerSecond: number;
  readonly delayP50Ms: number;
  readonly delayP99Ms: number;
  readonly delayMaxMs: number;
  readonly peakDirBytes: number;
  readonly finalDirBytes: number;
  /** Peak resident memory of the process over the feed (VmHWM, read before the log is counted). */
  readonly peakRssMb: number;
  readonly records: number;
  readonly compactions: number;
  readonly failures: number;
  /** The largest segment a compaction wrote: the records it kept, in bytes. */
  readonly keptBytes: number;
  /** How long each compaction ran, in ms, as seen between two batches (10 ms apart). */
  readonly compactionMs: readonly number[];
}

/** Bytes of the files in `dir`; a file a compaction removes or renames meanwhile counts as gone. */
function directoryBytes(dir: string): number {
  return readdirSync(dir).reduce(
    (sum, name) => sum + (statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0),
    0,
  );
}

/** Waits until `at` (a `performance.now()` time), or for the event loop's next turn when it has passed. */
const until = (at: number) =>
  new Promise<void>((resolve) => {
    const wait = at - performance.now();
    if (wait > 0) setTimeout(resolve, wait);
    else setImmediate(resolve);
  });

/** What the parent asks of a run (argv[2], as JSON). */
export interface LiveRun {
  readonly dir: string;
  readonly digests: number;
  readonly rate: number;
  /** Undefined (left out of the JSON): every record kept. */
  readonly keepRecords?: number | undefined;
  readonly segmentBytes: number;
  readonly tickMs: number;
}

async function run({
  dir,
  digests,
  rate,
  keepRecords,
  segmentBytes,
  tickMs,
}: LiveRun): Promise<LiveRunFigures> {
  const outcomes: LiveCompaction[] = [];
  const { engine, close, log, feed } = logBenchEngine({
    dir,
    segmentBytes,
    ...(keepRecords === undefined ? {} : { keepRecords, onCompaction: (o) => outcomes.push(o) }),
  });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let peakDir = 0;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const compactionMs: number[] = [];
  // When the compaction running now was first seen running.
  let compactingSince: number | undefined;
  const started = performance.now();
  delay.enable();
  for (let i = 1; i <= digests; i++) {
    feed(i);
    if (i % perTick === 0) {
      await until(started + (i / perTick) * tickMs);
      const now = performance.now();
      if (log.compactionRunning) compactingSince ??= now;
      else if (compactingSince !== undefined) {
        compactionMs.push(now - compactingSince);
        compactingSince = undefined;
      }
    }
    if (i % SAMPLE_EVERY === 0) peakDir = Math.max(peakDir, directoryBytes(dir));
  }
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const { mode, reasons } = engine.snapshot();
  await close();
  if (mode !== "normal" || reasons.length > 0)
    throw new Error(
      `the engine ended ${mode} (${reasons.join(", ")}): the log fell behind, the run measured nothing`,
    );
  const peakRss = peakRssMb();
  const finalDir = directoryBytes(dir);
  let records = 0;
  scanDecisionLog(dir, true, { undecoded: () => records++ });
  const ms = (ns: number) => ns / 1e6;
  const figures: LiveRunFigures = {
    seconds,
    digestsPerSecond: digests / seconds,
    delayP50Ms: ms(delay.percentile(50)),
    delayP99Ms: ms(delay.percentile(99)),
    delayMaxMs: ms(delay.max),
    peakDirBytes: Math.max(peakDir, finalDir),
    finalDirBytes: finalDir,
    peakRssMb: peakRss,
    // The header is handed to the visitor too.
    records: records - 1,
    compactions: outcomes.filter((o) => o.ok).length,
    failures: outcomes.filter((o) => !o.ok).length,
    keptBytes: Math.max(0, ...outcomes.map((o) => (o.ok ? o.result.bytesAfter : 0))),
    compactionMs,
  };
  return figures;
}

const figures = await run(JSON.parse(process.argv[2]!) as LiveRun);
process.stdout.write(`${JSON.stringify(figures)}\n`);
