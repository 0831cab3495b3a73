/**
 * Child process for the decision-log crash tests; the parent SIGKILLs it at random points.
 *
 * `append <dir> <flushMs> <flushRecords> <chunk>`: creates a log and appends records
 * `{kind:"r", i:seq, t, pad}` in chunks of `chunk`, yielding ~1 ms between chunks. It prints
 * `ready`, then `A <lastSeq>` after each chunk and `D <durableSeq>` after each group commit, with
 * synchronous writes to the stdout pipe so that a line printed is a line the parent receives.
 *
 * `compact <dir> <keep> <pauseMs>`: compacts an existing log, pausing `pauseMs` after each step so
 * that kills land between steps; prints `start` first and `done` at the end.
 */
import { writeSync } from "node:fs";
import { compactDecisionLog, openDecisionLog } from "../../src/log/index.js";
import { crashRecordPad } from "./log-crash-driver.js";

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};
const now = (): number => performance.timeOrigin + performance.now();

const [mode, dir, a, b, c] = process.argv.slice(2);
if (mode === "append") {
  const flushMs = Number(a);
  const flushRecords = Number(b);
  const chunk = Number(c);
  const log = openDecisionLog({
    dir: dir!,
    header: { kind: "header", test: "crash" },
    flushMs,
    flushRecords,
    onDurable: (seq) => say(`D ${seq}`),
  });
  say("ready");
  const tick = (): void => {
    for (let k = 0; k < chunk; k++) {
      const seq = log.lastSeq + 1;
      log.append({ kind: "r", i: seq, t: now(), pad: crashRecordPad(seq) });
    }
    say(`A ${log.lastSeq}`);
    setTimeout(tick, 1);
  };
  tick();
} else if (mode === "compact") {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  say("start");
  compactDecisionLog(dir!, Number(a), { afterStep: () => Atomics.wait(pause, 0, 0, Number(b)) });
  say("done");
} else {
  say(`unknown mode ${String(mode)}`);
  process.exit(2);
}
