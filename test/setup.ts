import fc from "fast-check";
import { afterEach, expect } from "vitest";
import { takeWatchedMonitors } from "./support/watched-monitors.js";

// Property tests run from a fixed seed so that every run (and CI) checks the same cases; set
// FC_SEED to explore other ones (fast-check prints the seed of any failure).
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261122) });

// Every engine built by the test harness is watched by the independent safety monitor: a test
// whose engine broke a safety property fails here, naming the property and its witness.
afterEach(() => {
  for (const monitor of takeWatchedMonitors()) {
    const { violations } = monitor.report();
    expect(violations, "the safety monitor found violations").toEqual([]);
  }
});
