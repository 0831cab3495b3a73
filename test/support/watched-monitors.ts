import type { SafetyMonitor } from "../../src/monitor/safety-monitor.js";

// Kept apart from the engine harness so that test/setup.ts, which runs before every test file,
// does not load the engine for files that never build one.

/** Monitors of the rigs created by the running test that must end with no violation. */
export const watchedMonitors = new Set<SafetyMonitor>();

/**
 * The monitors of the rigs the running test created (expected violations left out), and forgets
 * them: called after every test by `test/setup.ts`.
 */
export function takeWatchedMonitors(): SafetyMonitor[] {
  const monitors = [...watchedMonitors];
  watchedMonitors.clear();
  return monitors;
}
