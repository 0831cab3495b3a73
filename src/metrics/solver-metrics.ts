/**
 * Prometheus metrics of a solver or a shared study, read at scrape time.
 */
import { Counter, Gauge, type Registry } from "prom-client";

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
  readonly registry: Registry;
  /** Prefix of every metric name (default `"arqon_"`). */
  readonly prefix?: string;
}

/**
 * Registers `arqon_solver_trials_asked_total`, `arqon_solver_trials_told_total`,
 * `arqon_solver_budget` and `arqon_solver_best_value` (NaN until a result is told), read from
 * `source` at each scrape. Throws when a metric of the same name is already registered.
 */
export function registerSolverMetrics(source: SolverStatsSource, options: SolverMetricsOptions): void {
  const p = options.prefix ?? "arqon_";
  const registers = [options.registry];
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
  total("solver_trials_asked_total", "Trials the solver handed out.", () => source.asked);
  total("solver_trials_told_total", "Results told to the solver.", () => source.told);
  new Gauge({
    name: `${p}solver_budget`,
    help: "The solver's budget of trials.",
    registers,
    collect() {
      this.set(source.config.budget);
    },
  });
  new Gauge({
    name: `${p}solver_best_value`,
    help: "Best objective value told so far.",
    registers,
    collect() {
      this.set(source.best()?.value ?? Number.NaN);
    },
  });
}
