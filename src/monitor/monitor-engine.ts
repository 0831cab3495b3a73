/**
 * Watches a running engine with the independent safety monitor: every audit event it emits is
 * checked, and the first violation halts it.
 */
import { asyncScheduler, type Subscription } from "rxjs";
import type { EngineConfig } from "../engine/config.js";
import type { Engine } from "../engine/engine.js";
import type { SafetyReport, SafetyViolation } from "./properties.js";
import { SafetyMonitor } from "./safety-monitor.js";
import { type SafetySpecOptions, safetySpecOf } from "./safety-spec.js";

/** Options of {@link monitorEngine}. */
export interface MonitorEngineOptions extends SafetySpecOptions {
  /** Halt the engine on the first violation (default true): a broken invariant needs a person. */
  readonly haltOnViolation?: boolean;
  /** Called with the first violation of each property (after the halt, when halting). */
  readonly onViolation?: (violation: SafetyViolation) => void;
}

/** A running watch; `stop()` unsubscribes (the engine keeps running). */
export interface EngineMonitor {
  readonly monitor: SafetyMonitor;
  report(): SafetyReport;
  stop(): void;
}

/**
 * Checks every audit event of `engine` against the safety properties (see `SAFETY_PROPERTIES`),
 * using only the events and the limits in `config` — pass the config the engine was created
 * with (for a logged engine, its `config`: a resumed one starts from other values than the config
 * given). Start it before the engine's first event is delivered (right after `createEngine`),
 * since the monitor starts from the configured initial values.
 *
 * @example
 * ```ts
 * const engine = createEngine(config);
 * const watch = monitorEngine(engine, config, { onViolation: (v) => page(v.message) });
 * ```
 */
export function monitorEngine(
  engine: Engine,
  config: EngineConfig,
  options: MonitorEngineOptions = {},
): EngineMonitor {
  const monitor = new SafetyMonitor(safetySpecOf(config, options));
  const halt = options.haltOnViolation ?? true;
  monitor.onViolation((violation) => {
    if (halt) {
      const { fromSeq, toSeq } = violation.witness;
      engine.halt(
        `safety monitor: ${violation.property} violated (audit seq ${fromSeq}–${toSeq}): ${violation.message}`,
      );
    }
    options.onViolation?.(violation);
  });
  // L1's time bound runs on the engine's own clock, armed only while a trip waits for its answer.
  const scheduler = config.scheduler ?? asyncScheduler;
  let timer: Subscription | undefined;
  const arm = () => {
    timer?.unsubscribe();
    timer = undefined;
    const deadline = monitor.nextDeadline();
    if (deadline === undefined) return;
    timer = scheduler.schedule(
      () => {
        timer = undefined;
        monitor.expire(scheduler.now());
        arm();
      },
      Math.max(0, deadline - scheduler.now()),
    );
  };
  const subscription = engine.events.subscribe((event) => {
    const pending = monitor.nextDeadline();
    monitor.check(event);
    if (monitor.nextDeadline() !== pending) arm();
  });
  return {
    monitor,
    report: () => monitor.report(),
    stop: () => {
      subscription.unsubscribe();
      timer?.unsubscribe();
    },
  };
}
