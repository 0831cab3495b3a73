/**
 * Records the golden fixtures under test/fixtures/: known-answer vectors of the PRNG, a decision
 * log and a solver artifact in today's formats, with what each must still give when read back.
 *
 *   npx tsx scripts/golden-fixtures.ts --version v2 [--only prng,decision-log,solver]
 *
 * Run it only to record a NEW format version, next to the old fixtures (never over them): the
 * point of a golden fixture is that later code must keep reading what earlier code wrote.
 * `test/golden-fixtures.test.ts` loads, replays and resumes them.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { VirtualTimeScheduler } from "rxjs";
import { createSolver } from "../src/index.js";
import { createLoggedEngine, explain, renderExplanation, replay } from "../src/node.js";
import { Prng } from "../src/random/prng.js";
import { branin } from "../src/testing/functions.js";
import { REPO_ROOT } from "./generated-files.js";

export const FIXTURES_DIR = join(REPO_ROOT, "test/fixtures");

/** PRNG streams recorded: seeds × streams, first outputs of each generator method. */
export const PRNG_SEEDS = [1, 42, 20261122] as const;
export const PRNG_STREAMS = [0, 1, 7] as const;

export function prngVectors() {
  return PRNG_SEEDS.flatMap((seed) =>
    PRNG_STREAMS.map((stream) => {
      const next = Prng.fromSeed(seed, stream);
      const int = Prng.fromSeed(seed, stream);
      const sign = Prng.fromSeed(seed, stream);
      const normal = Prng.fromSeed(seed, stream);
      return {
        seed,
        stream,
        state: Prng.fromSeed(seed, stream).state(),
        next: Array.from({ length: 8 }, () => next.next()),
        int1000: Array.from({ length: 8 }, () => int.int(1000)),
        sign: Array.from({ length: 8 }, () => sign.sign()),
        normal: Array.from({ length: 8 }, () => normal.normal()),
      };
    }),
  );
}

/** The engine run recorded in the decision-log fixture: two knobs (one log-scale), faults, commands. */
export const LOGGED_ENGINE_CONFIG = {
  seed: 11,
  params: {
    batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 },
    timeoutMs: { min: 5, max: 2000, init: 200, maxDelta: 40, scale: "log" },
  },
  window: { digests: 4 },
  safety: { safeMode: { dwellMs: 2000, healthyWindows: 2 } },
} as const;

/** Drives the logged engine: tuning, a NaN digest (trip + rollback), a halt and a reset. */
async function recordDecisionLog(dir: string): Promise<{ generation: number; headline: string }> {
  const scheduler = new VirtualTimeScheduler();
  const { engine, close } = createLoggedEngine({ ...LOGGED_ENGINE_CONFIG, scheduler }, { dir, flushMs: 50 });
  const noise = Prng.fromSeed(3, 9);
  const tick = (objective?: number) => {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    const [batch, timeout] = engine.values;
    const cost = ((batch! - 120) / 40) ** 2 + Math.log(timeout! / 60) ** 2 + 0.05 * noise.normal();
    engine.observe({ objective: objective ?? cost, generation: engine.generation });
  };
  for (let i = 0; i < 240; i++) tick();
  const explained = engine.generation;
  tick(Number.NaN);
  for (let i = 0; i < 120; i++) tick();
  engine.halt("fixture: maintenance window");
  for (let i = 0; i < 10; i++) tick();
  engine.resetSafeMode({ acknowledge: "fixture: maintenance done" });
  for (let i = 0; i < 60; i++) tick();
  engine.rollback("fixture: back to the baseline");
  await close();
  return { generation: explained, headline: renderExplanation(explain(dir, explained)).split("\n")[0]! };
}

/** The solver run recorded in the solver fixture: Branin, 30 of 60 trials told. */
export const SOLVER_CONFIG = {
  seed: 42,
  budget: 60,
  bounds: { x1: { min: -5, max: 10 }, x2: { min: 0, max: 15 } },
} as const;

const BRANIN = branin();

function recordSolver() {
  const solver = createSolver(SOLVER_CONFIG);
  let told = 0;
  while (told < 30) {
    const batch = solver.ask({ max: 1 });
    if (batch === null || batch.length === 0) break;
    for (const trial of batch) {
      solver.tell({ id: trial.id, value: BRANIN.evaluate(trial.params) });
      told++;
    }
  }
  const artifact = solver.toJSON();
  const best = solver.best();
  const next = Array.from({ length: 3 }, () => {
    const trial = solver.ask({ max: 1 })![0]!;
    solver.tell({ id: trial.id, value: BRANIN.evaluate(trial.params) });
    return trial.params;
  });
  return { artifact, best, next };
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: { version: { type: "string" }, only: { type: "string" } },
  });
  const v = values.version;
  if (v === undefined || !/^v\d+$/.test(v))
    throw new Error("--version vN is required (a new version, never an old one)");
  const only = new Set((values.only ?? "prng,decision-log,solver").split(","));
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const write = (name: string, value: unknown) => {
    const path = join(FIXTURES_DIR, name);
    if (existsSync(path)) throw new Error(`${path} exists: golden fixtures are never overwritten`);
    writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  };
  if (only.has("prng"))
    write(`prng-${v}.json`, { note: "Prng known-answer vectors", vectors: prngVectors() });
  if (only.has("decision-log")) await recordLogFixture(v, write);
  if (only.has("solver")) write(`solver-${v}.json`, recordSolver());
}

async function recordLogFixture(v: string, write: (name: string, value: unknown) => void): Promise<void> {
  const logDir = join(FIXTURES_DIR, `decision-log-${v}`);
  if (existsSync(logDir)) throw new Error(`${logDir} exists: golden fixtures are never overwritten`);
  const scratch = join(mkdtempSync(join(tmpdir(), "arqon-fixture-")), "log");
  const explained = await recordDecisionLog(scratch);
  const replayed = await replay(scratch);
  if (!replayed.ok) throw new Error("the recorded log does not replay: nothing written");
  cpSync(scratch, logDir, { recursive: true });
  rmSync(join(scratch, ".."), { recursive: true, force: true });
  write(`decision-log-${v}.expected.json`, {
    config: LOGGED_ENGINE_CONFIG,
    records: replayed.records,
    explained,
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
