/**
 * B5, the tracking suite (issue 11): does the engine track well out of the box, on plants its
 * defaults were not tuned on (a held-out validation half)?
 *
 * Run with `npm run bench -- tracking` (add `--quick` for a short development iteration, which
 * never writes the results page; `--plants=a,b` for some plants).
 *
 * @remarks
 * Per plant and seed, in the same run, three methods face the same noise and timing:
 *
 * - arqon: `createEngine({ seed, params, scheduler })` and nothing else (the scheduler is an RxJS
 *   `VirtualTimeScheduler`, advanced to each digest's time before the digest);
 * - the reference: plain constant-gain two-sided SPSA ({@link ReferenceSpsa}), the best of a
 *   9 × 3 grid of a × c chosen per plant and half with hindsight (lowest mean regret);
 * - the static start (the knobs' init values, never moved).
 *
 * Every tick charges the noise-free regret of the point live when the digest was measured. Every
 * move of the engine's live point (each `apply` and `rollback` audit event, which carry the values
 * written) is checked from outside against the bounds and maxDelta; a refused apply counts too.
 * The documented contract (docs/concepts/tiers.md) exempts a rollback to the baseline from
 * maxDelta (it is the way back to safety, in one move): a rollback that jumps further is not a
 * violation, but every such jump is counted and reported in its own column. A rollback outside
 * the bounds would still be a violation.
 *
 * On the recurring-regime plants, the regret over the {@link VISIT_TICKS} ticks after each regime
 * visit starts is reported too, and gated: homeostasis (issue 11 item 5) should make a regime's
 * return cheaper than its first visit. A first visit that starts the run is no fair baseline (it
 * starts from the knobs' init values, nearer the regime's optimum than the other regime's centre
 * a return starts from, and without a shift to detect): such a regime's return is compared with
 * the same return of the same engine without the regime cache (`safety: { homeostasis: false }`,
 * run on the same seeds).
 *
 * The development half (plants d1–d9, seeds 1–10; d7–d9 were added after the first validation run to reproduce its failures) is the one the defaults were tuned on; the
 * validation half (plants v1–v6, seeds 101–120) was never used for tuning.
 */
import { pathToFileURL } from "node:url";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import type { AuditEvent } from "../src/audit/events.js";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { ParamRegistry } from "../src/space/param-registry.js";
import { type Benchmark, parseOptions } from "./benchmark.js";
import { advanceVirtualClock } from "./drift-q4.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { type ReferenceGains, ReferenceSpsa } from "./plants/reference-spsa.js";
import { SUITE_SEEDS, type SuiteHalf, type TrackingPlant, trackingSuite } from "./plants/tracking-plants.js";
import { writeSection } from "./report.js";
import { median } from "./stats.js";
import { markdownTable, verdict } from "./table.js";

/** Ticks of a full run and of a `--quick` one. */
export const SUITE_TICKS = 6000;
const QUICK_TICKS = 2000;
const QUICK_SEEDS: Readonly<Record<SuiteHalf, readonly number[]>> = {
  development: [1, 2, 3],
  validation: [101, 102, 103],
};

/** Ticks after the start of a regime visit whose regret is compared (first visit vs return). */
export const VISIT_TICKS = 500;

/** Gates of issue 11. */
export const TRACKING_GATES = Object.freeze({ worstRatio: 1.2, medianRatio: 1.0 });

/** Multipliers of the curvature-based gain hint tried by the reference (3^−6 … 3^2). */
const A_GRID = [1 / 729, 1 / 243, 1 / 81, 1 / 27, 1 / 9, 1 / 3, 1, 3, 9];
/** Reference half-widths (unit cube). */
const C_GRID = [0.01, 0.025, 0.05];

/** What one run of one method measured. */
export interface RunFigures {
  readonly regretPerTick: number;
  /** Share of ticks whose regret is within the band (%). */
  readonly inBandPercent: number;
  readonly violations: number;
  /** Rollbacks that moved a parameter further than its maxDelta (allowed by the contract, reported). */
  readonly rollbackJumps: number;
  readonly trips: number;
  readonly rollbacks: number;
  /** Mean regret per tick over the {@link VISIT_TICKS} ticks after each regime visit starts (recurring plants). */
  readonly visitRegret: readonly number[];
  /** Tick of the first centre move (−1: never). */
  readonly firstMove: number;
  /** Digests the engine did not accept. */
  readonly rejected: number;
}

/** One plant's row. */
export interface PlantSummary {
  readonly plant: TrackingPlant;
  readonly seeds: number;
  readonly arqon: number;
  readonly reference: number;
  readonly referenceGains: ReferenceGains;
  readonly staticStart: number;
  readonly ratio: number;
  readonly inBandArqon: number;
  readonly inBandReference: number;
  readonly violations: number;
  readonly rollbackJumps: number;
  readonly trips: number;
  readonly rollbacks: number;
  /** Recurring plants: arqon's mean regret over the ticks after each visit, averaged over seeds. */
  readonly visitRegret: readonly number[];
  /** The same without the regime cache (recurring plants). */
  readonly visitRegretWithoutCache: readonly number[];
  /** Recurring plants: each regime's return against its baseline (see {@link regimeReturns}). */
  readonly returns: readonly RegimeReturn[];
  readonly firstMoveMedian: number;
  readonly rejected: number;
  readonly failures: readonly string[];
}

/** A recurring regime's return against its baseline (homeostasis gate). */
export interface RegimeReturn {
  readonly regime: number;
  /** Visit indices of the first visit and the return. */
  readonly first: number;
  readonly back: number;
  /** The regret the return is compared with, and what it is. */
  readonly baseline: number;
  readonly baselineKind: "first visit" | "return without the cache";
  readonly pass: boolean;
}

/**
 * Each regime's first visit and return: the return must cost less than the first visit if that
 * began with a shift, else (the run's start) less than the same return without the cache.
 */
function regimeReturns(
  plant: TrackingPlant,
  withCache: readonly number[],
  without: readonly number[],
): RegimeReturn[] {
  const visits = plant.visits ?? [];
  const out: RegimeReturn[] = [];
  for (const regime of [0, 1]) {
    const at = visits.flatMap((v, k) => (v.regime === regime ? [k] : []));
    if (at.length < 2) continue;
    const first = at[0]!;
    const back = at[1]!;
    const fromStart = visits[first]!.start === 0;
    const baseline = fromStart ? without[back]! : withCache[first]!;
    out.push({
      regime,
      first,
      back,
      baseline,
      baselineKind: fromStart ? "return without the cache" : "first visit",
      pass: withCache[back]! < baseline,
    });
  }
  return out;
}

/** In-band threshold of a seed: a tenth of the static start's mean regret. */
const BAND_SHARE = 0.1;

/** One seed of arqon with its defaults. */
export async function runArqon(
  plant: TrackingPlant,
  seed: number,
  band: number,
  safety?: EngineConfig["safety"],
): Promise<RunFigures> {
  const run = plant.run(seed);
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const engine = createEngine({
    seed,
    params: plant.params,
    scheduler,
    ...(safety === undefined ? {} : { safety }),
  });
  const registry = new ParamRegistry(plant.params);
  const n = registry.size;
  const names = engine.names;
  const last = new Float64Array(n);
  const init = new Float64Array(n);
  for (let i = 0; i < n; i++) last[i] = init[i] = registry.init[i]!;
  let violations = 0;
  let rollbackJumps = 0;
  let trips = 0;
  let rollbacks = 0;
  let firstMove = -1;
  let tick = 0;
  const subscription = engine.events.subscribe((event: AuditEvent) => {
    if (event.type === "mode.changed" && event.from === "normal") trips++;
    if (event.type === "violation") violations++;
    if (event.type !== "apply" && event.type !== "rollback") return;
    const values = event.values;
    if (values === undefined) throw new Error(`${event.type} event without values`);
    if (event.type === "rollback") rollbacks++;
    let bad = false;
    let jump = false;
    let moved = false;
    for (let i = 0; i < n; i++) {
      const v = values[names[i]!]!;
      if (!(Math.abs(v - last[i]!) <= registry.maxDelta[i]! * (1 + 1e-9))) jump = true;
      if (!(v >= registry.min[i]! && v <= registry.max[i]!)) bad = true;
      if (v !== init[i]) moved = true;
      last[i] = v;
    }
    // Tier 1's contract: applies stay within maxDelta; a rollback may jump (counted apart).
    if (jump && event.type === "rollback") rollbackJumps++;
    else if (jump) bad = true;
    if (bad) violations++;
    if (event.type === "apply" && event.kind === "centre" && moved && firstMove < 0) firstMove = tick;
  });
  const live = engine.values;
  let regretSum = 0;
  let inBand = 0;
  let rejected = 0;
  const visits = new VisitRegret(plant);
  try {
    for (let t = 0; t < plant.ticks; t++) {
      tick = t;
      advanceVirtualClock(scheduler, run.times[t]!);
      engine.flushEvents();
      const y = run.measure(t, live);
      const r = run.regret(t, live);
      regretSum += r;
      visits.add(t, r);
      if (r <= band) inBand++;
      const verdict = engine.observe({ objective: y, generation: engine.generation });
      if (verdict !== "accepted") rejected++;
      engine.flushEvents();
    }
    if (engine.failure !== undefined) throw engine.failure;
    violations = Math.max(violations, engine.snapshot().applies.refused);
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
  return {
    regretPerTick: regretSum / plant.ticks,
    inBandPercent: (100 * inBand) / plant.ticks,
    violations,
    rollbackJumps,
    trips,
    rollbacks,
    visitRegret: visits.means(),
    firstMove,
    rejected,
  };
}

/** Regret summed over the {@link VISIT_TICKS} ticks after each regime visit of a recurring plant. */
class VisitRegret {
  private readonly starts: readonly number[];
  private readonly sums: number[];
  constructor(plant: TrackingPlant) {
    this.starts = (plant.visits ?? []).map((v) => v.start);
    this.sums = this.starts.map(() => 0);
  }
  add(t: number, regret: number): void {
    for (let v = 0; v < this.starts.length; v++) {
      const start = this.starts[v]!;
      if (t >= start && t < start + VISIT_TICKS) this.sums[v]! += regret;
    }
  }
  means(): number[] {
    return this.sums.map((s) => s / VISIT_TICKS);
  }
}

/** One seed of the reference with given gains. */
export function runReference(
  plant: TrackingPlant,
  seed: number,
  gains: ReferenceGains,
  band: number,
): RunFigures {
  const run = plant.run(seed);
  const spsa = new ReferenceSpsa(plant.params, gains, seed);
  let regretSum = 0;
  let inBand = 0;
  const visits = new VisitRegret(plant);
  for (let t = 0; t < plant.ticks; t++) {
    const y = run.measure(t, spsa.live);
    const r = run.regret(t, spsa.live);
    regretSum += r;
    visits.add(t, r);
    if (r <= band) inBand++;
    spsa.record(t, y);
  }
  return {
    regretPerTick: regretSum / plant.ticks,
    inBandPercent: (100 * inBand) / plant.ticks,
    violations: 0,
    rollbackJumps: 0,
    trips: 0,
    rollbacks: 0,
    visitRegret: visits.means(),
    firstMove: spsa.firstCentreMove,
    rejected: 0,
  };
}

/** Mean regret of the static start (the knobs' init values) over a seed's run. */
export function runStatic(plant: TrackingPlant, seed: number): number {
  const run = plant.run(seed);
  const registry = new ParamRegistry(plant.params);
  const point = Float64Array.from(registry.init);
  let sum = 0;
  for (let t = 0; t < plant.ticks; t++) {
    run.measure(t, point);
    sum += run.regret(t, point);
  }
  return sum / plant.ticks;
}

/** The reference's gain scale: 1 / mean unit-cube curvature of the regret at the start (t = 0). */
export function gainHint(plant: TrackingPlant): number {
  const registry = new ParamRegistry(plant.params);
  const run = plant.run(0);
  const n = registry.size;
  const u = Float64Array.from({ length: n }, (_, i) => registry.toUnit(i, registry.init[i]!));
  const raw = new Float64Array(n);
  const at = (): number => {
    for (let i = 0; i < n; i++) raw[i] = registry.toRaw(i, u[i]!);
    return run.regret(0, raw);
  };
  const h = 0.01;
  let curvature = 0;
  const f0 = at();
  for (let i = 0; i < n; i++) {
    const keep = u[i]!;
    u[i] = keep + h;
    const fp = at();
    u[i] = keep - h;
    const fm = at();
    u[i] = keep;
    curvature += Math.abs(fp + fm - 2 * f0) / (h * h);
  }
  return n / curvature;
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Measures one plant over the seeds of its half. */
export async function measurePlant(plant: TrackingPlant, seeds: readonly number[]): Promise<PlantSummary> {
  const statics = seeds.map((seed) => runStatic(plant, seed));
  const bands = statics.map((s) => BAND_SHARE * s);
  const arqon: RunFigures[] = [];
  for (let s = 0; s < seeds.length; s++) arqon.push(await runArqon(plant, seeds[s]!, bands[s]!));
  // Recurring plants: the same engine without the regime cache, for the homeostasis gate.
  const withoutCache: RunFigures[] = [];
  if (plant.visits !== undefined)
    for (let s = 0; s < seeds.length; s++)
      withoutCache.push(await runArqon(plant, seeds[s]!, bands[s]!, { homeostasis: false }));
  const hint = gainHint(plant);
  let best: { gains: ReferenceGains; runs: RunFigures[]; regret: number } | undefined;
  for (const am of A_GRID) {
    for (const c of C_GRID) {
      const gains = { a: am * hint, c };
      const runs = seeds.map((seed, s) => runReference(plant, seed, gains, bands[s]!));
      const regret = mean(runs.map((r) => r.regretPerTick));
      if (best === undefined || regret < best.regret) best = { gains, runs, regret };
    }
  }
  if (best === undefined) throw new Error("empty reference grid");
  const arqonRegret = mean(arqon.map((r) => r.regretPerTick));
  const ratio = arqonRegret / best.regret;
  const violations = arqon.reduce((s, r) => s + r.violations, 0);
  const trips = arqon.reduce((s, r) => s + r.trips, 0);
  const failures: string[] = [];
  if (!(ratio <= TRACKING_GATES.worstRatio)) failures.push(`ratio ≤ ${TRACKING_GATES.worstRatio}`);
  if (violations > 0) failures.push("no violations");
  if (!plant.faulty && trips > 0) failures.push("no trips");
  const visitRegret = (plant.visits ?? []).map((_, v) => mean(arqon.map((r) => r.visitRegret[v]!)));
  const visitRegretWithoutCache = (plant.visits ?? []).map((_, v) =>
    mean(withoutCache.map((r) => r.visitRegret[v]!)),
  );
  const returns = regimeReturns(plant, visitRegret, visitRegretWithoutCache);
  if (returns.some((r) => !r.pass)) failures.push("regime returns cost less");
  const firstMoves = arqon.map((r) => (r.firstMove < 0 ? Number.POSITIVE_INFINITY : r.firstMove));
  return {
    plant,
    seeds: seeds.length,
    arqon: arqonRegret,
    reference: best.regret,
    referenceGains: { a: best.gains.a / hint, c: best.gains.c },
    staticStart: mean(statics),
    ratio,
    inBandArqon: mean(arqon.map((r) => r.inBandPercent)),
    inBandReference: mean(best.runs.map((r) => r.inBandPercent)),
    violations,
    rollbackJumps: arqon.reduce((s, r) => s + r.rollbackJumps, 0),
    trips,
    rollbacks: arqon.reduce((s, r) => s + r.rollbacks, 0),
    visitRegret,
    visitRegretWithoutCache,
    returns,
    firstMoveMedian: median(firstMoves),
    rejected: arqon.reduce((s, r) => s + r.rejected, 0),
    failures,
  };
}

const HEADER = [
  "plant",
  "what varies",
  "seeds",
  "arqon regret/tick",
  "reference (a×hint, c)",
  "static",
  "ratio",
  "in band % arqon / ref",
  "violations",
  "SafeMode trips / rollbacks (jumps > maxDelta)",
  "ticks to first centre move (median)",
  "digests rejected",
  "gate",
];

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : x.toPrecision(3);
}

function row(s: PlantSummary): string[] {
  const g = s.referenceGains;
  return [
    s.plant.name,
    s.plant.description,
    String(s.seeds),
    fmt(s.arqon),
    `${fmt(s.reference)} (${fmt(g.a)}, ${g.c})`,
    fmt(s.staticStart),
    s.ratio.toFixed(2),
    `${s.inBandArqon.toFixed(1)} / ${s.inBandReference.toFixed(1)}`,
    String(s.violations),
    `${s.trips} / ${s.rollbacks} (${s.rollbackJumps})`,
    Number.isFinite(s.firstMoveMedian) ? String(s.firstMoveMedian) : "never",
    String(s.rejected),
    s.failures.length === 0 ? "PASS" : `FAIL: ${s.failures.join(", ")}`,
  ];
}

/**
 * Recurring plants: arqon's regret per tick over the {@link VISIT_TICKS} ticks after each regime
 * visit starts, first visit against return, per regime, with the homeostasis gate (empty when the
 * half has none).
 */
function visitTable(rows: readonly PlantSummary[]): string {
  const lines: string[][] = [];
  for (const s of rows) {
    const visits = s.plant.visits ?? [];
    for (const r of s.returns) {
      lines.push([
        s.plant.name,
        r.regime === 0 ? "A" : "B",
        `${visits[r.first]!.start}, ${visits[r.back]!.start}`,
        fmt(s.visitRegret[r.first]!),
        fmt(s.visitRegret[r.back]!),
        fmt(s.visitRegretWithoutCache[r.back]!),
        r.baselineKind,
        verdict(r.pass),
      ]);
    }
  }
  if (lines.length === 0) return "";
  return (
    `\n\nRegime returns (homeostasis): arqon's regret per tick over the ${VISIT_TICKS} ticks after a regime's ` +
    `first visit and after its return, and after the same return without the regime cache ` +
    `(\`safety: { homeostasis: false }\`, same seeds). Gate: the return costs less than the first visit; ` +
    `A's first visit starts the run from the knobs' init values (nearer its optimum than B's centre, ` +
    `where its return starts, and with no shift to detect), so A's return is compared with the same ` +
    `return without the cache instead.\n\n` +
    markdownTable(
      [
        "plant",
        "regime",
        "visits start at tick",
        "first visit",
        "return",
        "return without the cache",
        "return compared with",
        "gate",
      ],
      lines,
    )
  );
}

/** What {@link runTrackingSuite} measured. */
export interface TrackingSuiteResult {
  readonly summaries: readonly PlantSummary[];
  readonly report: string;
  readonly passed: boolean;
  readonly seconds: number;
}

/** Runs the suite (or some of its plants) and formats both halves' tables. */
export async function runTrackingSuite(options: {
  readonly quick?: boolean;
  readonly plants?: readonly string[];
  readonly log?: (line: string) => void;
}): Promise<TrackingSuiteResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = performance.now();
  const ticks = options.quick === true ? QUICK_TICKS : SUITE_TICKS;
  const seedsOf = options.quick === true ? QUICK_SEEDS : SUITE_SEEDS;
  const plants = trackingSuite(ticks).filter(
    (p) => options.plants === undefined || options.plants.includes(p.name),
  );
  if (plants.length === 0) throw new Error("--plants names no plant of the suite");
  const summaries: PlantSummary[] = [];
  for (const plant of plants) {
    const summary = await measurePlant(plant, seedsOf[plant.half]);
    summaries.push(summary);
    log(row(summary).join(" | "));
  }
  const sections: string[] = [];
  let passed = true;
  for (const half of ["development", "validation"] as const) {
    const rows = summaries.filter((s) => s.plant.half === half);
    if (rows.length === 0) continue;
    const ratios = rows.map((s) => s.ratio);
    const medianRatio = median(ratios);
    const medianPass = medianRatio <= TRACKING_GATES.medianRatio;
    const allPass = rows.every((s) => s.failures.length === 0);
    passed = passed && medianPass && allPass;
    const title =
      half === "development"
        ? `Development half (tuned on; seeds ${seedsOf.development.join(", ")})`
        : `Validation half (held out, seeds ${seedsOf.validation[0]}–${seedsOf.validation.at(-1)}; its earlier runs informed some choices, see Commentary)`;
    sections.push(
      `**${title}**\n\n${markdownTable(HEADER, rows.map(row))}\n\n` +
        `Median ratio ${medianRatio.toFixed(2)} (gate ≤ ${TRACKING_GATES.medianRatio}): ${medianPass ? "PASS" : "FAIL"}; ` +
        `every plant ≤ ${TRACKING_GATES.worstRatio}, no violations, no trips without faults, ` +
        `regime returns cost less: ${allPass ? "PASS" : "FAIL"}.` +
        visitTable(rows),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const report = sections.join("\n\n");
  log(report);
  log(`tracking suite: ${passed ? "PASS" : "FAIL"} (${seconds.toFixed(0)} s)`);
  return { summaries, report, passed, seconds };
}

const METHOD = `\`npm run bench -- tracking\` (\`bench/tracking.ts\`, plants in \`bench/plants/tracking-plants.ts\`).
Per plant and seed, in the same run and on the same noise and digest timing: **arqon** as a new user
gets it (\`createEngine({ seed, params, scheduler })\`, nothing else; the scheduler is a virtual clock
advanced to each digest's time), the **reference** (plain constant-gain two-sided SPSA, plus / minus /
centre as three applies of one digest each, best of a 9 × 3 grid a ∈ hint·3^−6…3^2, c ∈ {0.01,
0.025, 0.05} chosen per plant and half with hindsight; hint = 1 / mean unit-cube curvature at the
start), and the **static start**. ${SUITE_TICKS} digests per run, one per tick (100 ms nominal).
Regret = noise-free loss above the tick's optimum at the live point, every tick charged. Ratio =
arqon's mean regret / the reference's. In band = ticks with regret ≤ a tenth of the static start's mean.
Violations = applies refused by Tier 1 + applies (read from the audit events) beyond maxDelta or
the bounds + rollbacks outside the bounds. A rollback to the baseline is exempt from maxDelta by
contract (docs/concepts/tiers.md): rollbacks that jumped further are not violations but are
counted in brackets after the rollbacks. Gates: ratio ≤ ${TRACKING_GATES.worstRatio} on every
plant, median ratio ≤ ${TRACKING_GATES.medianRatio} per half, zero violations, no SafeMode trip on
plants without telemetry faults.`;

/** The B5 benchmark. */
export const benchmark: Benchmark = {
  name: "tracking",
  title: "B5 tracking suite: defaults vs hand-tuned SPSA on 15 drifting plants",
  inAll: true,
  async run(args) {
    const quick = args.includes("--quick");
    const options = parseOptions(
      args.filter((a) => a !== "--quick"),
      ["plants"],
    );
    const plants = options.values.get("plants")?.split(",");
    const env = environmentLine(describeEnvironment());
    const result = await runTrackingSuite({ quick, ...(plants === undefined ? {} : { plants }) });
    if (options.write && !quick && plants === undefined) {
      await writeSection(
        "B5",
        `${METHOD}\n\n${env}\n\nThe whole run took ${result.seconds.toFixed(0)} s.\n\n${result.report}`,
      );
    }
    if (!result.passed) throw new Error("B5 tracking gates: FAIL");
  },
};

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  benchmark.run(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
