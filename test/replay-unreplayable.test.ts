import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { compactDecisionLog } from "../src/log/compact.js";
import { createLoggedEngine, explain, replay } from "../src/node.js";
import { ReplayInputError } from "../src/replay/read-log.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// Logs replay cannot check are named for what they are: a log without captured digests holds no
// inputs to replay, and audit records a compaction removed are not blamed on the audit ring.

const logDir = tempLogDirs();
const PARAMS = { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } } as const;

/** Logs `ticks` digests 100 ms apart and closes. */
async function closedRun(dir: string, ticks: number, captureDigests?: boolean): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const logged = createLoggedEngine(
    {
      seed: 3,
      params: PARAMS,
      window: { digests: 3 },
      scheduler,
      ...(captureDigests === undefined ? {} : { captureDigests }),
    },
    { dir, flushMs: 50 },
  );
  for (let i = 0; i < ticks; i++) {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    const x = logged.engine.values[0]!;
    logged.engine.observe({ objective: ((x - 100) / 30) ** 2, generation: logged.engine.generation });
  }
  await logged.close();
}

const NO_DIGESTS =
  "this run was logged with captureDigests: false: its windows counted digests the log does not hold, the inputs replay needs, so it cannot be replayed";

describe("replay of a log written with captureDigests: false", () => {
  it("says the run cannot be replayed instead of diverging at some record", async () => {
    const dir = logDir();
    await closedRun(dir, 60, false);
    const result = await replay(dir);
    expect(result.ok).toBe(false);
    expect(result.runs[0]!.unreplayable).toBe(NO_DIGESTS);
    if (result.ok) return;
    expect(result.divergence.reason).toBe(NO_DIGESTS);
    expect(result.divergence.expected).toMatchObject({ type: "window.closed", count: 3 });
    expect(result.divergence.actual).toBeNull();

    const cli = await runArqonInProcess(["replay", dir], dir);
    expect(cli.status).toBe(1);
    expect(cli.stdout).not.toContain("DIVERGED");
    expect(cli.stdout).toBe(`replay NOT CHECKED: ${NO_DIGESTS}\n`);
    expect(cli.stderr).toBe(`arqon replay: run 1 cannot be replayed (captureDigests: false); exit 1\n`);
    const json = await runArqonInProcess(["replay", dir, "--json"], dir);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: "NOT CHECKED", ok: false });
  });

  it("a run that observed no digest replays all the same", async () => {
    const dir = logDir();
    await closedRun(dir, 0, false);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs[0]!.unreplayable).toBeNull();
  });

  it("a log with captured digests is replayable", async () => {
    const dir = logDir();
    await closedRun(dir, 60);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs[0]!.unreplayable).toBeNull();
  });
});

describe("replay of a compacted log", () => {
  it("says compaction removed the records it lacks, not the audit ring", async () => {
    const dir = logDir();
    await closedRun(dir, 200);
    compactDecisionLog(dir, 150);
    const result = await replay(dir);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const [gap] = result.runs[0]!.dropped;
    expect(gap).toMatchObject({ from: 1, cause: "removed" });
    expect(result.divergence.reason).toMatch(
      /^audit records 1–\d+ of this run are missing from the log \(removed from it: a compaction or an edit\), so inputs they held were not replayed; first difference after that: /,
    );
    expect(result.divergence.reason).not.toContain("ring");
  });

  it("bare records without log positions: the cause is not guessed", async () => {
    const dir = logDir();
    await closedRun(dir, 200);
    compactDecisionLog(dir, 150);
    const { readDecisionLog } = await import("../src/log/reader.js");
    const contents = readDecisionLog(dir);
    // The records themselves, without the log's seqs (as a JSON Lines export of bare events holds them).
    const bare = [contents.header, ...contents.records.map((r) => unwrap(r.record))];
    const result = await replay(bare);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.runs[0]!.dropped[0]).toMatchObject({ from: 1, cause: "unknown" });
    expect(result.divergence.reason).toMatch(
      /^audit records 1–\d+ of this run are missing \(a full audit ring, a compaction or an edit\), so inputs they held were not replayed; /,
    );
  });
});

/** A log record as bare content: an audit record's event alone, anything else without its seq. */
function unwrap(record: {
  readonly seq: number;
  readonly kind?: unknown;
  readonly event?: unknown;
}): unknown {
  if (record.kind === "audit") return record.event;
  const { seq: _seq, ...rest } = record;
  return rest;
}

describe("arqon explain and generation 0", () => {
  it("says generation 0 holds the initial values, and lists only generations it can explain", async () => {
    const dir = logDir();
    await closedRun(dir, 120);
    const error = (() => {
      try {
        explain(dir, 0);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ReplayInputError);
    expect(error!.message).toMatch(
      /^no apply or rollback in the log created generation 0 \(a run's initial values\); applies and rollbacks created run 1: generations 1–\d+$/,
    );
    const cli = await runArqonInProcess(["explain", dir, "--generation", "0"], dir);
    expect(cli.status).toBe(2);
    expect(cli.stderr).not.toMatch(/generations 0–/);
  });
});
