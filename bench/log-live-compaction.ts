/**
 * LOG-LIVE-COMPACTION: a logged engine whose decision log compacts itself as it is written
 * (`keepRecords`), against the same engine keeping every record, in the same run: how large the
 * log directory gets, and what the compactions cost the process they run in (the event loop's
 * delay, digests ingested per second, resident memory).
 *
 * Each engine (two knobs, windows of 5 digests, as LOG-READS) is fed `--digests` digests of a
 * noisy quadratic, one per 100 ms of a replay clock, at `--rate` digests a second of wall time (a
 * batch every 10 ms; the group commits, and the compactions' reads, writes and slices, run in the
 * event loop's turns between batches): a busy service's ingest, at a rate that fills a segment
 * every few seconds. Segments of 16 MiB, so that a run fills a dozen. Each engine runs in a fresh
 * `node` process (one bundled file), so that neither inherits the other's memory or garbage.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleForNode } from "../test/support/node-bundle.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import type { LiveRun, LiveRunFigures } from "./log-live-compaction-child.js";
import { writeSection } from "./report.js";
import { median } from "./stats.js";
import { markdownTable, verdict } from "./table.js";

const CHILD = fileURLToPath(new URL("./log-live-compaction-child.ts", import.meta.url));
/** Wall-time ms between two batches of digests. */
const TICK_MS = 10;
/** Largest event-loop delay a compaction may add to the ingest-only baseline's (its slices are 8 ms). */
const DELAY_MARGIN_MS = 25;
const MB = 2 ** 20;

/** What a run of the benchmark feeds and keeps. */
export interface LiveCompactionSetup {
  readonly digests: number;
  /** Digests a second of wall time. */
  readonly rate: number;
  readonly segmentBytes: number;
  /** The compacting engine's `keepRecords`. */
  readonly keepRecords: number;
}

const DEFAULT_SETUP: LiveCompactionSetup = {
  digests: 1_200_000,
  // A busy service's ingest: the log then fills a 16 MiB segment in about 6 s.
  rate: 20_000,
  segmentBytes: 16 * 2 ** 20,
  keepRecords: 100_000,
};

/** Runs one engine in a fresh process. */
function runEngine(
  script: string,
  dir: string,
  setup: LiveCompactionSetup,
  keepRecords: number | undefined,
): LiveRunFigures {
  const { digests, rate, segmentBytes } = setup;
  const run: LiveRun = { dir, digests, rate, keepRecords, segmentBytes, tickMs: TICK_MS };
  const child = spawnSync(process.execPath, [script, JSON.stringify(run)], {
    encoding: "utf8",
    env: { ...process.env, NODE_ENV: "production" },
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`the engine's run failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as LiveRunFigures;
}

/** Runs both engines and returns the section. */
export async function runLiveCompactionBench(setup: LiveCompactionSetup = DEFAULT_SETUP): Promise<string> {
  const { digests, rate, segmentBytes, keepRecords } = setup;
  const environment = environmentLine(describeEnvironment());
  console.log(environment);
  const root = mkdtempSync(join(tmpdir(), "arqon-log-live-"));
  const bundle = await bundleForNode(CHILD);
  try {
    const runs: { label: string; figures: LiveRunFigures }[] = [];
    for (const keep of [undefined, keepRecords]) {
      const dir = join(root, keep === undefined ? "full" : "kept");
      const figures = runEngine(bundle.script, dir, setup, keep);
      console.log(JSON.stringify(figures));
      runs.push({
        label: keep === undefined ? "every record kept" : `keepRecords ${keep.toLocaleString("en-US")}`,
        figures,
      });
      rmSync(dir, { recursive: true, force: true });
    }
    const full = runs[0]!.figures;
    const kept = runs[1]!.figures;
    const table = markdownTable(
      [
        "log",
        "wall s",
        "digests/s",
        "event-loop delay p50 / p99 / max, ms",
        "directory MB, peak / end",
        "records at the end",
        "compactions (failed)",
        "compaction ms, p50 / max",
        "peak RSS MB",
      ],
      runs.map(({ label, figures: r }) => [
        label,
        r.seconds.toFixed(1),
        Math.round(r.digestsPerSecond).toLocaleString("en-US"),
        `${r.delayP50Ms.toFixed(1)} / ${r.delayP99Ms.toFixed(1)} / ${r.delayMaxMs.toFixed(1)}`,
        `${(r.peakDirBytes / MB).toFixed(1)} / ${(r.finalDirBytes / MB).toFixed(1)}`,
        r.records.toLocaleString("en-US"),
        r === kept ? `${r.compactions} (${r.failures})` : "–",
        r === kept && r.compactionMs.length > 0
          ? `${median(r.compactionMs).toFixed(0)} / ${Math.max(...r.compactionMs).toFixed(0)}`
          : "–",
        r.peakRssMb.toFixed(0),
      ]),
    );
    // What the directory holds at most while compactions keep up: the compacted segment and the new
    // one being written from it (the records kept, twice), a full segment waiting, and the one
    // being written.
    const boundBytes = 2 * kept.keptBytes + 2 * segmentBytes;
    // The records kept, at the whole log's own bytes per record: a compaction copies them as they are.
    const keptShare = kept.keptBytes / ((keepRecords * full.finalDirBytes) / full.records);
    const gates = markdownTable(
      ["gate", "measured", "result"],
      [
        [
          `with keepRecords the directory, as sampled, never held more than two copies of the records kept and two segments (${(boundBytes / MB).toFixed(1)} MB)`,
          `${(kept.peakDirBytes / MB).toFixed(1)} MB at most (every record kept: ${(full.peakDirBytes / MB).toFixed(1)} MB)`,
          verdict(kept.peakDirBytes <= boundBytes && kept.compactions > 0),
        ],
        [
          "the records kept take no more room than in the log they came from (within 5 %)",
          `${(kept.keptBytes / MB).toFixed(2)} MB, ${keptShare.toFixed(2)}× the whole log's bytes per record`,
          verdict(kept.compactions > 0 && keptShare <= 1.05),
        ],
        [
          "no compaction failed",
          `${kept.failures} of ${kept.compactions + kept.failures}`,
          verdict(kept.failures === 0),
        ],
        [
          `both engines ingest at ${rate.toLocaleString("en-US")} digests/s (within 2 %)`,
          `${Math.round(full.digestsPerSecond).toLocaleString("en-US")} and ${Math.round(kept.digestsPerSecond).toLocaleString("en-US")} digests/s`,
          verdict(Math.min(full.digestsPerSecond, kept.digestsPerSecond) >= rate * 0.98),
        ],
        [
          `the event loop's longest delay stays within ${DELAY_MARGIN_MS} ms of the baseline's`,
          `${kept.delayMaxMs.toFixed(1)} ms (baseline ${full.delayMaxMs.toFixed(1)} ms)`,
          verdict(kept.delayMaxMs <= full.delayMaxMs + DELAY_MARGIN_MS),
        ],
      ],
    );
    return [
      `Machine: ${environment}`,
      "",
      `\`npm run bench -- log-live-compaction\`: two logged engines (two knobs, windows of 5 digests), each in a fresh \`node\` process (one bundled file), one after the other, each fed ${digests.toLocaleString("en-US")} digests of a noisy quadratic (one per 100 ms of a replay clock) at ${rate.toLocaleString("en-US")} digests a second of wall time (a batch every ${TICK_MS} ms); segments of ${segmentBytes / MB} MiB. The first keeps every record (the baseline); the second compacts its full segments as it writes, down to their last ${keepRecords.toLocaleString("en-US")} records. Event-loop delay: \`monitorEventLoopDelay\` (5 ms resolution) over the feed, which includes the feed's own batches. Compaction time: from the first batch that found one running to the first that found none (a batch every ${TICK_MS} ms; compactions that ran back to back count as one). Directory size sampled every 2,000 digests and at the end; peak RSS is the process's high-water mark (Linux \`VmHWM\`) at the end of the feed.`,
      "",
      table,
      "",
      gates,
    ].join("\n");
  } finally {
    bundle.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = {
  name: "log-live-compaction",
  title: "A decision log compacting itself while its engine writes it (keepRecords)",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["digests", "rate"]);
    const section = await runLiveCompactionBench({
      ...DEFAULT_SETUP,
      digests: wholeOption(options, "digests", DEFAULT_SETUP.digests),
      rate: wholeOption(options, "rate", DEFAULT_SETUP.rate),
    });
    if (options.write) await writeSection("LOG-LIVE-COMPACTION", section);
  },
};
