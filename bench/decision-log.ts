/**
 * Decision-log benchmark: how fast the log takes records, and how much a SIGKILL loses.
 *
 * - Group commit: 200 000 audit-sized records appended with the default `flushRecords` (256); after
 *   each 256 the group commit runs (write + fdatasync), as the writer's own scheduler would do it.
 *   Records/s and MB/s over the whole run (appends and commits); append latency per call (encode
 *   into the buffer; no I/O on this path) and commit latency per group.
 * - fsync always: 2 000 records, each written and fsynced before `append` returns.
 * - Loss window: a child process appends ~4 records per ms with group commit every `flushMs`;
 *   the parent SIGKILLs it at seeded random points; the window is the kill time minus the
 *   timestamp of the last record recovered. Same harness as test/log-crash.test.ts.
 *
 * Times are `process.hrtime.bigint()` pairs around each call (the timer's own cost, tens of ns, is
 * included). Disk figures depend entirely on the file system and device under the temp directory.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDecisionLog, readDecisionLog } from "../src/log/index.js";
import { Prng } from "../src/random/prng.js";
import { bundleCrashChild, runAndKill } from "../test/support/log-crash-driver.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import { quantileSorted, sortedCopy } from "./stats.js";
import { markdownTable } from "./table.js";

/** An audit-sized record (about 250 bytes of JSON): an apply with its proposal and values. */
function auditRecord(i: number): Record<string, unknown> {
  return {
    type: "apply",
    runId: "bench-run",
    generation: i,
    time: 1_700_000_000_000 + i * 7.25,
    proposal: { id: i, target: [0.5, 0.25 + (i % 7) / 100, 0.75, 0.125] },
    values: [64 + (i % 16), 0.001 * (1 + (i % 5)), 128, 3.5],
    checks: { bounds: true, maxDelta: true, rate: true },
  };
}

interface Latencies {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function latencies(nanoseconds: number[]): Latencies {
  const sorted = sortedCopy(nanoseconds);
  return {
    p50: quantileSorted(sorted, 0.5),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1]!,
  };
}

interface ThroughputRow {
  readonly mode: string;
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly append: Latencies;
  readonly commit: Latencies | null;
}

function withTempDir<T>(run: (dir: string) => T): T {
  const root = mkdtempSync(join(tmpdir(), "arqon-bench-log-"));
  try {
    return run(join(root, "log"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function measureGroupCommit(records: number, flushRecords: number): ThroughputRow {
  return withTempDir((dir) => {
    const log = openDecisionLog({
      dir,
      header: { kind: "header", bench: true },
      flushMs: 60_000,
      flushRecords: 1e9,
    });
    const prepared = Array.from({ length: records }, (_, i) => auditRecord(i));
    const append: number[] = [];
    const commit: number[] = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < records; i++) {
      const t0 = process.hrtime.bigint();
      log.append(prepared[i]!);
      append.push(Number(process.hrtime.bigint() - t0));
      if ((i + 1) % flushRecords === 0) {
        const t1 = process.hrtime.bigint();
        log.flush();
        commit.push(Number(process.hrtime.bigint() - t1));
      }
    }
    log.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const bytes = bytesOf(dir);
    return {
      mode: `group commit (every ${flushRecords} records)`,
      records,
      recordsPerSecond: records / seconds,
      megabytesPerSecond: bytes / 1e6 / seconds,
      append: latencies(append),
      commit: latencies(commit),
    };
  });
}

function measureAlways(records: number): ThroughputRow {
  return withTempDir((dir) => {
    const log = openDecisionLog({ dir, header: { kind: "header", bench: true }, fsync: "always" });
    const append: number[] = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < records; i++) {
      const t0 = process.hrtime.bigint();
      log.append(auditRecord(i));
      append.push(Number(process.hrtime.bigint() - t0));
    }
    log.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      mode: "fsync always (per record)",
      records,
      recordsPerSecond: records / seconds,
      megabytesPerSecond: bytesOf(dir) / 1e6 / seconds,
      append: latencies(append),
      commit: null,
    };
  });
}

/** Bytes written: the sum of the segment sizes (frames included). */
function bytesOf(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function measureLossWindow(
  flushMs: number,
  kills: number,
  seed: number,
): Promise<{ windows: number[]; lost: number[] }> {
  const { script, cleanup } = await bundleCrashChild();
  const prng = Prng.fromSeed(seed, 0);
  const windows: number[] = [];
  const lost: number[] = [];
  try {
    for (let k = 0; k < kills; k++) {
      const root = mkdtempSync(join(tmpdir(), "arqon-bench-kill-"));
      try {
        const dir = join(root, "log");
        const killed = await runAndKill(
          script,
          ["append", dir, String(flushMs), "100000", "4"],
          "ready",
          20 + prng.int(200),
        );
        const log = readDecisionLog(dir);
        const last = log.records.at(-1);
        if (last === undefined) continue;
        windows.push(killed.killedAt - (last.record.t as number));
        lost.push(Math.max(0, killed.lastAppended - log.records.length));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    cleanup();
  }
  return { windows, lost };
}

const us = (ns: number): string => (ns / 1000).toFixed(ns < 10_000 ? 2 : 0);

/** Runs the benchmark and returns the Markdown report. */
export async function runDecisionLogBench(options: {
  records: number;
  alwaysRecords: number;
  kills: number;
}): Promise<string> {
  const environment = environmentLine(describeEnvironment());
  console.log(environment);
  const rows = [measureGroupCommit(options.records, 256), measureAlways(options.alwaysRecords)];
  const table = markdownTable(
    [
      "mode",
      "records",
      "records/s",
      "MB/s",
      "append p50 µs",
      "append p99 µs",
      "append max µs",
      "commit p50 / p99 / max µs",
    ],
    rows.map((r) => [
      r.mode,
      String(r.records),
      Math.round(r.recordsPerSecond).toLocaleString("en-US"),
      r.megabytesPerSecond.toFixed(1),
      us(r.append.p50),
      us(r.append.p99),
      us(r.append.max),
      r.commit === null ? "–" : `${us(r.commit.p50)} / ${us(r.commit.p99)} / ${us(r.commit.max)}`,
    ]),
  );
  console.log(table);
  const lossRows: string[][] = [];
  for (const flushMs of [20, 50]) {
    const { windows, lost } = await measureLossWindow(flushMs, options.kills, 2026 + flushMs);
    const w = sortedCopy(windows);
    const l = sortedCopy(lost);
    lossRows.push([
      String(flushMs),
      `${windows.length} / ${options.kills}`,
      quantileSorted(w, 0.5).toFixed(1),
      quantileSorted(w, 0.9).toFixed(1),
      (w[w.length - 1] ?? Number.NaN).toFixed(1),
      `${quantileSorted(l, 0.5)} / ${l[l.length - 1] ?? 0}`,
    ]);
  }
  const lossTable = markdownTable(
    ["flushMs", "kills with records", "loss window p50 ms", "p90 ms", "max ms", "records lost p50 / max"],
    lossRows,
  );
  console.log(lossTable);
  return [
    "Decision log (`bench/decision-log.ts`): append-only segmented log, CRC-32C framed records of about 250 bytes (audit-sized JSON).",
    "Group commit = the writer buffers appends and writes + fdatasyncs every `flushRecords` (256) records or `flushMs`; the append itself never does I/O. fsync always = write + fdatasync inside every append.",
    "Loss window after SIGKILL: a child appends ~4 records/ms; the parent kills it at seeded random points; window = kill time − timestamp of the last recovered record (records lost = last reported appended − recovered, a lower bound). The window is bounded by flushMs plus one commit (write + fdatasync) plus timer lateness, so on a loaded machine its maximum exceeds flushMs by about one commit latency. Maxima of appends and commits include preemption on the shared 2-core machine (see the load average).",
    "",
    `Machine: ${environment}`,
    "",
    table,
    "",
    lossTable,
  ].join("\n");
}

export const benchmark: Benchmark = {
  name: "decision-log",
  title: "Decision log throughput (records/s, MB/s), append latency, SIGKILL loss window",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["records", "always-records", "kills"]);
    const report = await runDecisionLogBench({
      records: wholeOption(options, "records", 200_000),
      alwaysRecords: wholeOption(options, "always-records", 2000),
      kills: wholeOption(options, "kills", 30),
    });
    if (options.write) await writeSection("DECISION-LOG", report);
  },
};
