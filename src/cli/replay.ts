import { resolve } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { DECISION_RULES } from "../engine/decision-rules.js";
import { encodeNumbers } from "../log/json-numbers.js";
import type { LoggedRepair } from "../log/log-records.js";
import type { TornTail } from "../log/scan.js";
import { describeGenerations } from "../replay/read-log.js";
import {
  type MissingRecords,
  type ReplayDivergence,
  type ReplayResult,
  type ReplayRunResult,
  replay,
} from "../replay/replay.js";
import { type ExitCode, usageError } from "./cli-error.js";
import type { CliIo } from "./io.js";
import { logReadFailure, parseLogCommand, runFlag, runFlagFailure, wholeFlag } from "./log-command.js";

/** Help text of `arqon replay`. */
export const REPLAY_USAGE = `arqon replay <log> [--run K] [--context N] [--json] [--accept-torn-tail] [--accept-open]
  Rebuilds the engine from a decision log (a log directory, or a JSON Lines file of its records),
  feeds it the logged digests and commands at their logged times, and checks that every proposal,
  apply, violation, window, decision and mode change is identical. Prints "replay OK: N records
  identical" (exit 0), or the first divergence with the N records before it (exit 1; default 5).
  A log continued after a restart holds several runs: each is replayed on its own engine and gets
  a line; --run K replays run K only (1 is the run the log header describes).
  A log whose last write was cut short by a crash ends in a torn tail, which replay leaves out:
  it says so and exits 1, unless --accept-torn-tail (the tail is what recovery would drop). A
  cleanly closed log ends with a close marker: a log without it lost its last segment, or its run
  never closed (a crash, or a writer still running); replay says so and exits 1, unless
  --accept-open (a torn tail accepted with --accept-torn-tail already explains a crash); either
  refusal prints "replay INCOMPLETE: N records identical" instead of "replay OK" (with --json, a
  "verdict" of "OK", "INCOMPLETE", "DIVERGED", "FAILED" or "NOT CHECKED" beside "ok", which covers
  the records only). A segment
  missing in the middle is an error. Audit records missing from a run (dropped by a full ring, or
  removed from the log by a compaction or an edit) are listed: they were not compared. Timings a
  cut log holds after audit records it lost (a timer record reaches the disk before the drain
  that writes the records it followed) are counted and not replayed; a closed log cannot have
  lost its end to a crash, so audit records missing from a closed run's end are a divergence. A
  run logged with captureDigests: false holds no inputs to replay: replay says it cannot check
  it and exits 1. A run whose engine failed internally (engine.failed; the log records it) is
  replayed up to the failure: when every record up to it is identical, replay prints "replay
  FAILED: the logged engine failed internally at t=… ms …" with the error's message, and exits 1
  (the records after it are not compared: a replayed engine does not fail so). The engine
  is rebuilt from the options the log header records, every default filled in; a log written
  before those were recorded is replayed with the defaults pinned for such logs (it says so),
  never with today's. A run that diverges and was recorded under other decision rules than this
  arqon's (the header's rules; absent from older logs) is said to be so: a correction made since
  can explain it.
  --json prints the result object instead (NaN, ±Infinity and -0 as {"$num": "..."}).`;

/** `arqon replay <log>`: checks that a decision log replays bit for bit, run by run. */
export async function replayCommand(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const { log, values } = parseLogCommand("replay", argv, {
    context: { type: "string" },
    run: { type: "string" },
    json: { type: "boolean" },
    "accept-torn-tail": { type: "boolean" },
    "accept-open": { type: "boolean" },
  });
  if (values.help === true) {
    io.stdout(`${REPLAY_USAGE}\n`);
    return 0;
  }
  if (log === undefined) throw usageError("arqon replay: the log to replay is required (arqon replay <log>)");
  const context = wholeFlag("replay", values.context, "context", 5);
  const run = runFlag("replay", values.run);
  let result: ReplayResult;
  try {
    result = await replay(resolve(io.cwd, log), run === undefined ? { context } : { context, run });
  } catch (error) {
    throw logReadFailure("replay", runFlagFailure("replay", error));
  }
  const tornTailAccepted = result.tornTail !== null && values["accept-torn-tail"] === true;
  const tornTailRefused = result.tornTail !== null && !tornTailAccepted;
  // An accepted torn tail is a crash's doing, and a crash never writes the close marker.
  const openAccepted = values["accept-open"] === true || tornTailAccepted;
  const openRefused = result.unclosed !== null && !openAccepted;
  const refused = tornTailRefused || openRefused;
  if (values.json === true) {
    // The verdict the text report gives, so that a reader of `ok` alone is not misled: `ok` says
    // the records matched, not that the log was whole.
    const diverged = result.ok ? undefined : result.runs.find((r) => r.run === result.divergence.run);
    const verdict = result.ok
      ? refused
        ? "INCOMPLETE"
        : "OK"
      : (diverged?.unreplayable ?? null) !== null
        ? "NOT CHECKED"
        : diverged?.failure !== undefined
          ? "FAILED"
          : "DIVERGED";
    io.stdout(`${JSON.stringify(encodeNumbers({ verdict, ...result }))}\n`);
    if (tornTailRefused) io.stderr(tornTailLine(result.tornTail!, false));
    if (openRefused) io.stderr(unclosedLine(result.unclosed!, false));
    return result.ok && !refused ? 0 : 1;
  }
  if (result.runs.some((r) => r.options === "pinned")) io.stderr(PINNED_OPTIONS_LINE);
  for (const r of result.runs) if (r.repair !== undefined) io.stderr(repairLine(r.run, r.repair));
  if (result.tornTail !== null) io.stderr(tornTailLine(result.tornTail, !tornTailRefused));
  if (result.unclosed !== null) io.stderr(unclosedLine(result.unclosed, openAccepted, tornTailAccepted));
  // A log never continued keeps its one-line report; runs are listed when there are several or one was chosen.
  // So are those of a log whose first runs a compaction removed: the one left is not run 1.
  const runs =
    result.runs.length > 1 || run !== undefined || result.runs[0]?.run !== 1 ? result.runs : undefined;
  // The log's end belongs to its last run: that run's line says so too (not another run chosen with --run).
  const lastRun = Math.max(...result.runs.map((r) => r.run));
  if (runs !== undefined)
    io.stdout(
      runs
        .map((r) => runLine(r, refused && r.run === lastRun && run === undefined, r.run === lastRun))
        .join(""),
    );
  if (result.ok) {
    const total = runs === undefined ? "" : `${runs.length} run${runs.length === 1 ? "" : "s"}, `;
    const notes = droppedNote(result.runs) + pastEndNote(result.runs);
    // Not "OK" when the exit says otherwise: every record the log holds matched, but its end is
    // missing or torn (said above, on stderr), and a reader of stdout alone would miss that.
    const verdict = refused ? "INCOMPLETE" : "OK";
    io.stdout(`replay ${verdict}: ${total}${recordsIdentical(result.records)}${notes}\n`);
    return refused ? 1 : 0;
  }
  const d = result.divergence;
  const diverged = result.runs.find((r) => r.run === d.run);
  if (diverged !== undefined && diverged.unreplayable !== null) {
    io.stdout(`replay NOT CHECKED: ${diverged.unreplayable}\n`);
    io.stderr(`arqon replay: run ${d.run} cannot be replayed (captureDigests: false); exit 1\n`);
    return 1;
  }
  if (diverged !== undefined && diverged.failure !== undefined) {
    io.stdout(`replay FAILED: ${d.reason}\n`);
    io.stderr(
      `arqon replay: run ${d.run}'s engine failed internally (record ${d.index}); replay stopped there; exit 1\n`,
    );
    return 1;
  }
  io.stdout(renderDivergence(d, runs !== undefined));
  const where = runs === undefined ? "" : ` in run ${d.run}`;
  io.stderr(`arqon replay: diverged at record ${d.index} (seq ${d.seq})${where}\n`);
  if (diverged !== undefined && diverged.rules !== DECISION_RULES) io.stderr(otherRulesLine(diverged.rules));
  return 1;
}

/** Said of a divergence in a run recorded under other decision rules than today's. */
function otherRulesLine(rules: number | null): string {
  const recorded = rules === null ? "before decision rules were versioned" : `under decision rules ${rules}`;
  return `arqon replay: that run was recorded ${recorded}, and this arqon decides by rules ${DECISION_RULES}: a correction made between them can explain the divergence (docs/guide/decision-log.md lists them)\n`;
}

/** Said of a log whose header predates recorded options: what replay built its engine from. */
const PINNED_OPTIONS_LINE =
  "arqon replay: this log predates recorded engine options: the options its config leaves out were replayed with the defaults pinned for such logs, not today's (a log older than the v2 golden fixture was decided by rules that changed since)\n";

/** What the torn tail is, and what it means for the exit code. */
function tornTailLine(tail: TornTail, accepted: boolean): string {
  const what = `the log ends in a torn write: ${tail.bytesDropped} bytes at offset ${tail.truncatedAt} of ${tail.segment} are not a complete record (a crash cut the last write short) and were not replayed`;
  return accepted
    ? `arqon replay: ${what} (accepted: --accept-torn-tail)\n`
    : `arqon replay: ${what}; exit 1 (--accept-torn-tail accepts it)\n`;
}

/** What a repair on opening the log took out of it before run `run` began. */
function repairLine(run: number, repair: LoggedRepair): string {
  const cut = `the log now ends at byte ${repair.truncatedAt} of ${repair.segment}, ${repair.bytesDropped} bytes taken out`;
  const what =
    repair.kind === "torn-tail"
      ? `a torn last write was cut off (${cut})`
      : `damage was set aside (${repair.reason ?? "reason not recorded"}; ${cut}${
          repair.setAside === undefined || repair.setAside.length === 0
            ? ""
            : `, now in ${repair.setAside.length === 1 ? repair.setAside[0] : `${repair.setAside.length} files: ${repair.setAside[0]} … ${repair.setAside.at(-1)}`}`
        })`;
  return `arqon replay: before run ${run} began, the log was repaired: ${what}; the runs before it may have lost their last records\n`;
}

/** What a log ending without its close marker means, and what it means for the exit code. */
function unclosedLine(message: string, accepted: boolean, byTornTail = false): string {
  if (!accepted) return `arqon replay: ${message}; exit 1 (--accept-open accepts it)\n`;
  return `arqon replay: ${message} (accepted: ${byTornTail ? "--accept-torn-tail, a crash" : "--accept-open"})\n`;
}

/** What took missing records, by the cause the log shows. */
const MISSING_CAUSE: Readonly<Record<MissingRecords["cause"], string>> = {
  ring: "dropped by a full audit ring",
  removed: "removed from the log",
  unknown: "dropped by a full audit ring or removed from the log",
};

/** " (records 18–23 of run 1 missing: dropped by a full audit ring, not compared)", or "". */
function droppedNote(runs: readonly ReplayRunResult[]): string {
  const missing = runs.flatMap((r) => r.dropped.map((range) => ({ ...range, run: r.run })));
  const causes = new Set(missing.map((m) => m.cause));
  const range = ({ from, to, run }: (typeof missing)[number]) =>
    `${from === to ? `record ${from}` : `records ${from}–${to}`} of run ${run}`;
  // One cause is said once; several are said range by range.
  if (causes.size <= 1)
    return note(missing.map(range), `missing: ${MISSING_CAUSE[missing[0]?.cause ?? "ring"]}, not compared`);
  return note(
    missing.map((m) => `${range(m)} (${MISSING_CAUSE[m.cause]})`),
    "missing, not compared",
  );
}

/** " (3 timings of run 1 not replayed: logged after audit records the log lost)", or "". */
function pastEndNote(runs: readonly ReplayRunResult[]): string {
  const parts = runs
    .filter((r) => r.timingsPastEnd > 0)
    .map((r) => `${r.timingsPastEnd} timing${r.timingsPastEnd === 1 ? "" : "s"} of run ${r.run}`);
  return note(parts, "not replayed: logged after audit records the log lost");
}

/** "1 record identical", "12 records identical". */
function recordsIdentical(count: number): string {
  return `${count} record${count === 1 ? "" : "s"} identical`;
}

/** " (a, b what)" for the OK line, or "" when there are no parts. */
function note(parts: readonly string[], what: string): string {
  return parts.length === 0 ? "" : ` (${parts.join(", ")} ${what})`;
}

/** One line of a multi-run replay: the run, its generations, and its outcome. */
function runLine(r: ReplayRunResult, incomplete = false, last = false): string {
  const outcome = r.ok
    ? `${incomplete ? "INCOMPLETE" : "OK"}, ${recordsIdentical(r.records)}`
    : r.unreplayable !== null
      ? `NOT CHECKED: ${r.unreplayable}`
      : r.failure !== undefined
        ? `FAILED: ${r.divergence.reason}`
        : `DIVERGED at record ${r.divergence.index} (seq ${r.divergence.seq}${typeOf(r.divergence)}): ${r.divergence.reason}`;
  // The last run's end is the log's, which the unclosed line speaks of; an earlier one that did
  // not close was cut short (a crash, a kill) before the next run continued the log.
  const cut =
    r.closed === false && !last
      ? " (did not close: it crashed or was killed, and its last records may be missing)"
      : "";
  return `run ${r.run} (${describeGenerations(r.generations)}): ${outcome}${cut}\n`;
}

/**
 * A plain-text report of a replay divergence: where (with its run when `showRun`), which field,
 * the context, both records.
 */
export function renderDivergence(d: ReplayDivergence, showRun = false): string {
  const lines = [
    `replay DIVERGED at record ${d.index} (seq ${d.seq}${typeOf(d)})${showRun ? ` in run ${d.run}` : ""}: ${d.reason}`,
    ...d.context.map((e) => `  before  ${eventLine(e)}`),
    `  logged  ${d.expected === null ? "(nothing)" : eventLine(d.expected)}`,
    `  replay  ${d.actual === null ? "(nothing)" : eventLine(d.actual)}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** ", apply": the logged event's type, or "" when the log holds none there. */
function typeOf(d: ReplayDivergence): string {
  return d.expected === null ? "" : `, ${d.expected.type}`;
}

function eventLine(event: AuditEvent): string {
  const { v: _v, runId: _runId, ...rest } = event;
  return JSON.stringify(rest, (_key, value) =>
    typeof value === "number" && !Number.isFinite(value) ? String(value) : value,
  );
}
