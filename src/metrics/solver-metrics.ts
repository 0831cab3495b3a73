/**
 * Prometheus metrics of a solver or a shared study, read at scrape time.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { shownValue } from "../shown-value.js";
import { type AnyRegistry, commonOptionIssues, throwOnIssues } from "./metric-options.js";
import { registerAll } from "./register-all.js";

/** What the solver metrics read: a `Solver` or a `SharedStudy` fits. */
export interface SolverStatsSource {
  /** Trials handed out so far (the budget caps this). */
  readonly asked: number;
  /** Results recorded so far. */
  readonly told: number;
  /** The best point so far, or null. */
  best(): { readonly value: number } | null;
  readonly config: { readonly budget: number };
}

/** Options of {@link registerSolverMetrics}. */
export interface SolverMetricsOptions {
  readonly registry: AnyRegistry;
  /** Prefix of every metric name (default `"arqon_"`). */
  readonly prefix?: string;
}

/**
 * Registers `arqon_solver_trials_asked_total`, `arqon_solver_trials_told_total`,
 * `arqon_solver_budget` and `arqon_solver_best_value` (NaN until a result is told), read from
 * `source` at each scrape. Throws, registering nothing, when an option or `source` is invalid (a
 * RangeError naming each one) or when a metric of the same name is already registered.
 */
export function registerSolverMetrics(source: SolverStatsSource, options: SolverMetricsOptions): void {
  const issues = commonOptionIssues(options);
  // `in`, not a read: a shared study's members are getters, read at scrape time only.
  const s = source as unknown;
  if (
    typeof s !== "object" ||
    s === null ||
    !("asked" in s && "told" in s && "config" in s) ||
    typeof (s as { best?: unknown }).best !== "function"
  )
    issues.unshift({
      path: "source",
      message: `must be a solver or shared study (asked, told, best(), config.budget), got ${shownValue(s)}`,
    });
  throwOnIssues("registerSolverMetrics", issues);
  const p = options.prefix ?? "arqon_";
  // Built unregistered (no registers), then registered all or none by registerAll.
  const registers: Registry[] = [];
  const total = (name: string, help: string, read: () => number) =>
    new Counter({
      name: p + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const metrics = [
    total("solver_trials_asked_total", "Trials the solver handed out.", () => source.asked),
    total("solver_trials_told_total", "Results told to the solver.", () => source.told),
    new Gauge({
      name: `${p}solver_budget`,
      help: "The solver's budget of trials.",
      registers,
      collect() {
        this.set(source.config.budget);
      },
    }),
    new Gauge({
      name: `${p}solver_best_value`,
      help: "Best objective value told so far.",
      registers,
      collect() {
        this.set(source.best()?.value ?? Number.NaN);
      },
    }),
  ];
  registerAll("registerSolverMetrics", options.registry, metrics);
}
