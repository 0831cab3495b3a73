/**
 * The shape every benchmark module exports, so `bench/run.ts` can list and run it by name.
 *
 * @remarks
 * A module in `bench/` becomes runnable as `npm run bench -- <name>` by exporting
 * `export const benchmark: Benchmark = { … }`. Modules without that export are helpers.
 */
export interface Benchmark {
  /** Name used on the command line, e.g. `"solver-quality"`. */
  readonly name: string;
  /** One line saying what it measures (shown by `npm run bench -- --list`). */
  readonly title: string;
  /** Whether a bare `npm run bench` runs it (false for benchmarks already covered by others). */
  readonly inAll: boolean;
  /** Runs the benchmark; `args` are the command-line arguments after the name. */
  run(args: readonly string[]): Promise<void>;
}

/** Options shared by the benchmarks, parsed from `--key=value` / `--flag` arguments. */
export interface CommonOptions {
  /** Skip the Optuna columns (`--no-optuna`). */
  readonly optuna: boolean;
  /** Do not rewrite docs/benchmarks.md (`--no-write`). */
  readonly write: boolean;
  /** Every other `--key=value` pair. */
  readonly values: ReadonlyMap<string, string>;
}

/** Options that change how a benchmark measures, never what: a run given only these still writes. */
const FULL_RUN_OPTIONS: ReadonlySet<string> = new Set(["fresh-optuna"]);

/**
 * Parses `--no-optuna`, `--no-write` and `--key=value` arguments; rejects anything else. A run
 * given any other `--key=value` (fewer seeds, one problem, shorter runs) is a reduced run: it prints
 * its figures but never writes docs/benchmarks.md (`write` is false), whose sections state the
 * full protocol.
 */
export function parseOptions(args: readonly string[], known: readonly string[] = []): CommonOptions {
  const values = new Map<string, string>();
  let optuna = true;
  let write = true;
  for (const arg of args) {
    if (arg === "--no-optuna") optuna = false;
    else if (arg === "--no-write") write = false;
    else {
      const match = /^--([a-z-]+)=(.+)$/.exec(arg);
      if (match === null || !known.includes(match[1]!)) {
        const accepted = ["--no-optuna", "--no-write", ...known.map((k) => `--${k}=…`)].join(", ");
        throw new Error(`unknown argument ${JSON.stringify(arg)} (accepted: ${accepted})`);
      }
      values.set(match[1]!, match[2]!);
      if (!FULL_RUN_OPTIONS.has(match[1]!)) write = false;
    }
  }
  return { optuna, write, values };
}

/** A positive whole number from `--key=value`, or `fallback`. */
export function wholeOption(options: CommonOptions, key: string, fallback: number): number {
  const raw = options.values.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${key} needs a whole number ≥ 1`);
  return value;
}
