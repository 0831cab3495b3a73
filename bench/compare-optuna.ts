/**
 * Optuna 5.0.0 as a side-by-side baseline, driven from Node over JSON lines.
 *
 * @remarks
 * Node spawns `bench/optuna_driver.py` in a scratch virtualenv (`.venv-optuna/`, gitignored),
 * evaluates every objective itself (the same JS function arqon sees) and relays ask/tell. Optuna's
 * overhead is timed inside Python, so the pipe is not charged to it. When Python, the wheels or
 * Optuna are missing, {@link openOptuna} says why and the benchmarks print that Optuna was
 * skipped: this module never fails a run.
 *
 * As a benchmark (`npm run bench -- compare-optuna`) it runs Optuna alone on the five functions of
 * the first B1 suite (bench/quality.ts: Branin and Hartmann-6 at budget 100, Rosenbrock-5D,
 * Rastrigin-5D and Ackley-5D at 200) and on the B2 overhead loop; `solver-quality` runs Optuna on
 * the whole B1 suite and `solver-overhead` on the same loop, beside arqon, so a bare `npm run bench`
 * does not run it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { BoundsInput, ParamValue } from "../src/space/params.js";
import { sphere, type TestFunction } from "../src/testing/functions.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import {
  type OverheadSummary,
  overheadHeader,
  overheadRow,
  summarizeOverhead,
  TRIAL_BUDGET,
} from "./overhead.js";
import {
  formatSpread,
  qualityProblems,
  type RegretSamples,
  regretSpreads,
  regretsAt,
  seedList,
  solvedShare,
} from "./quality.js";
import { writeSection } from "./report.js";
import { markdownTable } from "./table.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const VENV = `${REPO}.venv-optuna`;
const DRIVER = fileURLToPath(new URL("optuna_driver.py", import.meta.url));
/** The Optuna version the benchmarks install and compare with. */
export const OPTUNA_VERSION = "5.0.0";

/** Versions reported by the driver. */
export interface OptunaVersions {
  readonly optuna: string;
  readonly numpy: string;
  readonly python: string;
  readonly sampler: string;
  /** The sampler on mixed spaces (the same constructor call; says what `group` is). */
  readonly mixedSampler: string;
}

/** One Optuna study run from Node: objective values and Optuna's own time per trial. */
export interface OptunaRun {
  /** Objective values in trial order. */
  readonly values: number[];
  /** The points Optuna asked, in trial order (in `fn.names` order). */
  readonly points: number[][];
  /** ask + suggest_float × d + tell, in nanoseconds, measured inside Python, per trial. */
  readonly overheadNs: number[];
}

type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** A running driver process. Requests are answered strictly in order, one line each. */
export class OptunaPeer {
  private readonly waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];
  private exited: Error | null = null;
  /** Versions reported by the driver when it started. */
  versions: OptunaVersions = { optuna: "?", numpy: "?", python: "?", sampler: "?", mixedSampler: "?" };

  private constructor(private readonly child: ChildProcess) {}

  /** Starts the driver with `python` and checks that Optuna imports. */
  static async start(python: string): Promise<OptunaPeer> {
    const child = spawn(python, [DRIVER], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONUNBUFFERED: "1", PYTHONWARNINGS: "ignore" },
    });
    const peer = new OptunaPeer(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => peer.receive(line));
    const fail = (error: Error): void => {
      peer.exited = error;
      for (const pending of peer.waiting.splice(0)) pending.reject(error);
    };
    child.on("error", fail);
    child.on("exit", (code) => fail(new Error(`optuna driver exited (${code}) ${stderr.trim()}`)));
    const hello = await withTimeout(peer.request({ op: "hello" }), 60_000, "optuna driver did not answer");
    peer.versions = {
      optuna: String(hello.optuna),
      numpy: String(hello.numpy),
      python: String(hello.python),
      sampler: String(hello.sampler),
      mixedSampler: String(hello.mixed_sampler ?? hello.sampler),
    };
    return peer;
  }

  private receive(line: string): void {
    const pending = this.waiting.shift();
    if (pending === undefined) return;
    try {
      pending.resolve(JSON.parse(line) as Reply);
    } catch {
      pending.reject(new Error(`optuna driver sent a line that is not JSON: ${line.slice(0, 200)}`));
    }
  }

  /** Sends one request and resolves with its (successful) reply. */
  async request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited !== null) throw this.exited;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin!.write(`${JSON.stringify(message)}\n`);
    });
    if (!reply.ok) throw new Error(`optuna driver: ${reply.error}`);
    return reply;
  }

  /** Minimises `fn` for `budget` trials with TPESampler(seed) (v5 defaults). */
  async run(fn: TestFunction, seed: number, budget: number): Promise<OptunaRun> {
    const names = fn.names;
    await this.request({
      op: "study",
      seed,
      sampler: "tpe",
      names,
      low: names.map((name) => fn.bounds[name]!.min),
      high: names.map((name) => fn.bounds[name]!.max),
    });
    const values: number[] = [];
    const points: number[][] = [];
    const overheadNs: number[] = [];
    for (let trial = 0; trial < budget; trial++) {
      const asked = await this.request({ op: "ask" });
      points.push(asked.params as number[]);
      const value = fn.at(asked.params as number[]);
      const told = await this.request({ op: "tell", number: asked.number, value });
      values.push(value);
      overheadNs.push((asked.ns as number) + (told.ns as number));
    }
    return { values, points, overheadNs };
  }

  /**
   * Minimises `evaluate` over a mixed space for `budget` trials with TPESampler(seed) (v5
   * defaults): Optuna's native distributions (suggest_int with step and log, suggest_categorical),
   * a conditional parameter suggested only in the branch where its condition holds. Returns the
   * values and the active params of each trial, in trial order. `"tpe-group"` (TPESampler with
   * `group=True`, not Optuna's default) is there for comparisons; B1 uses the default.
   */
  async runMixed(
    bounds: BoundsInput,
    evaluate: (params: Readonly<Record<string, ParamValue>>) => number,
    seed: number,
    budget: number,
    sampler: "tpe" | "tpe-group" = "tpe",
  ): Promise<{ values: number[]; params: Record<string, ParamValue>[] }> {
    await this.request({ op: "mixed_study", seed, sampler, space: optunaSpace(bounds) });
    const values: number[] = [];
    const params: Record<string, ParamValue>[] = [];
    for (let trial = 0; trial < budget; trial++) {
      const asked = await this.request({ op: "mixed_ask" });
      const point = asked.params as Record<string, ParamValue>;
      const value = evaluate(point);
      await this.request({ op: "tell", number: asked.number, value });
      params.push(point);
      values.push(value);
    }
    return { values, params };
  }

  /** Asks the driver to quit and waits for it (killing it after 5 s). */
  async close(): Promise<void> {
    if (this.exited !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.request({ op: "quit" }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A solver config's bounds as the driver's `space` list (declaration order: parents first). */
export function optunaSpace(bounds: BoundsInput): Record<string, unknown>[] {
  return Object.entries(bounds).map(([name, spec]) => {
    const when = spec.when ?? null;
    if (spec.type === "categorical") return { name, type: "categorical", choices: spec.choices, when };
    return {
      name,
      type: spec.type ?? "float",
      low: spec.min,
      high: spec.max,
      step: spec.type === "int" ? (spec.step ?? 1) : null,
      log: spec.scale === "log",
      when,
    };
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Either a running peer, or the reason Optuna is not available on this machine. */
export type OptunaAvailability =
  | { readonly available: true; readonly peer: OptunaPeer }
  | { readonly available: false; readonly reason: string };

/**
 * Finds or creates the Optuna virtualenv and starts the driver. Never throws: on any problem
 * it returns the reason. `ARQON_OPTUNA_PYTHON` overrides the interpreter.
 */
export async function openOptuna(log: (line: string) => void = console.log): Promise<OptunaAvailability> {
  try {
    const python = process.env.ARQON_OPTUNA_PYTHON ?? (await ensureVirtualenv(log));
    const peer = await OptunaPeer.start(python);
    if (peer.versions.optuna !== OPTUNA_VERSION) {
      log(`note: driving Optuna ${peer.versions.optuna}, not ${OPTUNA_VERSION}; figures are labelled so`);
    }
    return { available: true, peer };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The venv's interpreter, creating the venv offline from the local wheel folders if needed. */
async function ensureVirtualenv(log: (line: string) => void): Promise<string> {
  const python = `${VENV}/bin/python`;
  if (existsSync(python) && importsOptuna(python)) return python;
  const folders = wheelFolders();
  if (folders.length === 0) throw new Error("no local wheel folder found (pip config names none)");
  log(`setting up ${VENV} offline from ${folders.join(", ")} …`);
  run("python3", ["-m", "venv", VENV]);
  run(python, [
    "-m",
    "pip",
    "install",
    "--quiet",
    "--no-index",
    ...folders.flatMap((folder) => ["--find-links", folder]),
    `optuna==${OPTUNA_VERSION}`,
  ]);
  if (!importsOptuna(python)) throw new Error(`optuna still does not import in ${VENV}`);
  return python;
}

function importsOptuna(python: string): boolean {
  return spawnSync(python, ["-c", "import optuna"], { stdio: "ignore", timeout: 60_000 }).status === 0;
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 600_000 });
  if (result.error !== undefined) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout}${result.stderr}`.trim().split("\n").slice(-3).join(" / ");
    throw new Error(`${command} ${args.slice(0, 3).join(" ")} … failed: ${output}`);
  }
}

/**
 * Folders that may hold wheels, from `pip config list`: each `find-links` folder, and the
 * `files` folder beside each local (`file://…/simple`) index. Only folders that exist.
 */
function wheelFolders(): string[] {
  const listed = spawnSync("python3", ["-m", "pip", "config", "list"], { encoding: "utf8", timeout: 60_000 });
  const candidates: string[] = [];
  for (const line of (listed.stdout ?? "").split("\n")) {
    const match = /(find-links|extra-index-url|index-url)='([^']*)'/.exec(line);
    if (match === null) continue;
    for (const entry of match[2]!.split(/\s+/).filter(Boolean)) {
      const folder = entry.replace(/^file:\/\//, "");
      if (!folder.startsWith("/")) continue; // a remote index: unreachable offline
      candidates.push(match[1] === "find-links" ? folder : folder.replace(/\/simple\/?$/, "/files"));
    }
  }
  return [...new Set(candidates)].filter((folder) => {
    try {
      return readdirSync(folder).some((file) => file.endsWith(".whl"));
    } catch {
      return false;
    }
  });
}

/** Optuna's regret samples on one problem over `seeds`. */
export async function optunaRegrets(
  peer: OptunaPeer,
  fn: TestFunction,
  budget: number,
  checkpoints: readonly number[],
  seeds: readonly number[],
): Promise<RegretSamples> {
  const bySeed: number[][] = [];
  for (const seed of seeds) {
    const { values } = await peer.run(fn, seed, budget);
    bySeed.push(regretsAt(values, fn.minimum, checkpoints));
  }
  return { label: `Optuna ${peer.versions.optuna} TPE`, bySeed };
}

/**
 * Optuna's per-trial overhead on the B2 loop (sphere, `TRIAL_BUDGET` trials) in dimension `d`, as
 * arqon's is measured: one warm-up run, not recorded, then one run per seed, each figure the
 * median over the runs.
 */
export async function optunaOverhead(
  peer: OptunaPeer,
  d: number,
  seeds: readonly number[],
): Promise<OverheadSummary> {
  await peer.run(sphere(d), 1000 + d, TRIAL_BUDGET);
  const runs: number[][] = [];
  for (const seed of seeds) runs.push([...(await peer.run(sphere(d), seed, TRIAL_BUDGET)).overheadNs]);
  return summarizeOverhead(runs);
}

/** The line printed and written when Optuna was not run. */
export function optunaSkippedLine(reason: string): string {
  return `**Optuna skipped**: ${reason}`;
}

export const benchmark: Benchmark = {
  name: "compare-optuna",
  title: "Optuna 5.0.0 TPE alone on the first B1 suite's 5 functions (budgets 100/200) and the B2 loop",
  inAll: false,
  async run(args) {
    const options = parseOptions(args, ["seeds"]);
    const seeds = seedList(wholeOption(options, "seeds", 20));
    const env = describeEnvironment();
    console.log(environmentLine(env));
    const optuna = await openOptuna();
    if (!optuna.available) {
      console.log(optunaSkippedLine(optuna.reason));
      return;
    }
    const { peer } = optuna;
    const sections: string[] = [
      `Optuna ${peer.versions.optuna} (Python ${peer.versions.python}, numpy ${peer.versions.numpy}), ` +
        `${peer.versions.sampler}; ${seeds.length} seeds. ${environmentLine(env)}.`,
    ];
    try {
      const rows: string[][] = [];
      for (const { fn, budget, checkpoints } of qualityProblems()) {
        const samples = await optunaRegrets(peer, fn, budget, checkpoints, seeds);
        const spreads = regretSpreads(samples, checkpoints);
        rows.push([
          fn.name,
          ...[25, 50, 100, 200].map((at) => {
            const index = checkpoints.indexOf(at);
            return index === -1 ? "" : formatSpread(spreads[index]!);
          }),
          solvedShare(samples, 1e-2),
        ]);
        console.log(`  ${fn.name} done`);
      }
      const quality = markdownTable(["function", "@25", "@50", "@100", "@200", "final ≤ 1e-2"], rows);
      console.log(`\nOptuna regret, median [IQR]\n${quality}`);
      sections.push(`Regret, median [IQR] over seeds:\n\n${quality}`);

      const overheadRows: string[][] = [];
      for (const d of [2, 6, 16]) {
        overheadRows.push(overheadRow(`Optuna TPE, d = ${d}`, await optunaOverhead(peer, d, [1])));
      }
      const overhead = markdownTable(overheadHeader(), overheadRows);
      console.log(`\nOptuna ask + suggest × d + tell, µs per trial (inside Python)\n${overhead}`);
      sections.push(
        `Per-trial overhead (ask + suggest_float × d + tell, perf_counter_ns, µs):\n\n${overhead}`,
      );
    } finally {
      await peer.close();
    }
    if (options.write && seeds.length === 20) {
      await writeSection("OPTUNA", sections.join("\n\n"));
      console.log("\nwrote the OPTUNA section of docs/benchmarks.md");
    }
  },
};
