/**
 * Child process of the logged-engine crash test; the parent SIGKILLs it at random points.
 *
 * `<dir> <flushMs>`: runs a logged engine on a replay clock, 20 digests of a seeded noisy
 * quadratic per turn of the event loop (so the log's group-commit timer runs between turns). It
 * prints `ready`, then `D <durableSeq>` after each group commit, with synchronous writes to the
 * stdout pipe so that a line printed is a line the parent receives.
 */
import { writeSync } from "node:fs";
import { createLoggedEngine } from "../../src/log/engine-log.js";
import { Prng } from "../../src/random/prng.js";
import { ReplayClock } from "../../src/replay/virtual-clock.js";
import { SERVICE_KNOBS, serviceCost } from "./engine-harness.js";

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};
const [dir, flushMs] = process.argv.slice(2);
const clock = new ReplayClock(1_000);
const logged = createLoggedEngine(
  {
    seed: 21,
    runId: "crash",
    params: SERVICE_KNOBS,
    spsa: { calibrationIterations: 4 },
    window: { digests: 5, ms: 500 },
    scheduler: clock,
  },
  { dir: dir!, flushMs: Number(flushMs), onDurable: (seq) => say(`D ${seq}`) },
);
const engine = logged.engine;
const noise = Prng.fromSeed(5, 1);
let k = 0;
say("ready");
const turn = (): void => {
  for (let j = 0; j < 20; j++) {
    k++;
    const time = 1_000 + k * 10;
    clock.advanceTo(time);
    engine.observe({
      objective: serviceCost(engine.values, noise),
      generation: engine.generation,
      timestamp: time,
    });
    if (k % 700 === 0) engine.rollback("periodic check");
  }
  setTimeout(turn, 1);
};
turn();
