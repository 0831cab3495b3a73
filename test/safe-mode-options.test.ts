import { describe, expect, it } from "vitest";
import {
  resolveSafeModeOptions,
  SAFE_MODE_DEFAULTS,
  SAFE_MODE_MAX_HEALTHY_WINDOWS,
  safeModeOptionProblems,
} from "../machines/safe-mode.machine.js";
import { engineConfigIssues } from "../src/engine/config.js";
import { resolveSafetyOptions, safetyOptionIssues } from "../src/engine/safety/safety-config.js";
import { GUARDRAIL_PRESETS } from "../src/hotpath/guardrails.js";
import { shownValue } from "../src/shown-value.js";

/** Inputs the chart and the engine config must judge alike: valid ones, then one per rule. */
const CASES: readonly (readonly [input: unknown, problems: readonly string[]])[] = [
  [undefined, []],
  [{}, []],
  [{ dwellMs: 0, healthyWindows: 1 }, []],
  [{ dwellMs: 1e9, healthyWindows: SAFE_MODE_MAX_HEALTHY_WINDOWS }, []],
  [{ dwellMs: undefined, healthyWindows: undefined }, []],
  [{ dwellMs: -1 }, ["dwellMs"]],
  [{ dwellMs: Number.NaN }, ["dwellMs"]],
  [{ dwellMs: Number.POSITIVE_INFINITY }, ["dwellMs"]],
  [{ dwellMs: null }, ["dwellMs"]],
  [{ dwellMs: "30s" }, ["dwellMs"]],
  [{ healthyWindows: 0 }, ["healthyWindows"]],
  [{ healthyWindows: 2.5 }, ["healthyWindows"]],
  [{ healthyWindows: SAFE_MODE_MAX_HEALTHY_WINDOWS + 1 }, ["healthyWindows"]],
  [{ healthyWindows: null }, ["healthyWindows"]],
  [{ dwell: 5 }, ["dwell"]],
  [{ dwellMs: -1, healthyWindows: 0, extra: 1 }, ["dwellMs", "healthyWindows", "extra"]],
  [null, [""]],
  [7, [""]],
  [[1], [""]],
];

describe("SafeMode options: one rule set, in the chart", () => {
  it.each(CASES)("safeModeOptionProblems(%o) names %o", (input, fields) => {
    expect(safeModeOptionProblems(input).map((p) => p.field)).toEqual(fields);
  });

  it("gives a reason per problem, without the value", () => {
    expect(safeModeOptionProblems({ dwellMs: -1, healthyWindows: 0, dwel: 1 })).toEqual([
      {
        field: "dwellMs",
        reason:
          "must be a number of milliseconds ≥ 0 and at most 2147483647 (about 24.8 days, the longest timer Node keeps)",
      },
      { field: "healthyWindows", reason: "must be a whole number from 1 to 1000000" },
      {
        field: "dwel",
        reason: "unknown option; known: dwellMs, healthyWindows",
        known: ["dwellMs", "healthyWindows"],
      },
    ]);
    expect(safeModeOptionProblems("fast")).toEqual([
      { field: "", reason: "must be an object of SafeMode options" },
    ]);
  });

  it("the chart's resolver fills defaults and throws a RangeError naming each bad field and value", () => {
    expect(resolveSafeModeOptions(undefined)).toEqual(SAFE_MODE_DEFAULTS);
    expect(resolveSafeModeOptions({ healthyWindows: 7, dwellMs: undefined })).toEqual({
      dwellMs: SAFE_MODE_DEFAULTS.dwellMs,
      healthyWindows: 7,
    });
    expect(() => resolveSafeModeOptions({ dwellMs: -5, healthyWindows: 0 })).toThrow(
      new RangeError(
        "invalid SafeMode options: dwellMs: must be a number of milliseconds ≥ 0 and at most 2147483647 (about 24.8 days, the longest timer Node keeps), got -5; " +
          "healthyWindows: must be a whole number from 1 to 1000000, got 0",
      ),
    );
    expect(() => resolveSafeModeOptions({ dwelMs: 5 } as never)).toThrow(
      new RangeError("invalid SafeMode options: dwelMs: unknown option; known: dwellMs, healthyWindows"),
    );
    expect(() => resolveSafeModeOptions(null as never)).toThrow(
      /must be an object of SafeMode options, got null/,
    );
  });

  it.each(CASES)("the engine config reports %o at safety.safeMode.<field>", (input, fields) => {
    const expected = fields.map((f) => (f === "" ? "safety.safeMode" : `safety.safeMode.${f}`));
    const config = { seed: 1, params: { x: { min: 0, max: 1 } }, safety: { safeMode: input } };
    expect(engineConfigIssues(config).map((i) => i.path)).toEqual(expected);
    // Same reasons as the chart's, word for word, each with the value it refused; an unknown option
    // names the known ones, and a near one when there is (test/circuit-breaker.machine.test.ts).
    expect(safetyOptionIssues({ safeMode: input }).map((i) => i.message)).toEqual(
      safeModeOptionProblems(input).map((p) =>
        p.reason.startsWith("unknown option")
          ? expect.stringMatching(
              /^unknown option( \(did you mean \w+\?\))?; known: dwellMs, healthyWindows$/,
            )
          : `${p.reason}, got ${shownValue(p.field === "" ? input : (input as Record<string, unknown>)[p.field])}`,
      ),
    );
  });

  it("resolved safety options carry the chart's resolution", () => {
    const balanced = GUARDRAIL_PRESETS.balanced;
    expect(resolveSafetyOptions({ safeMode: { dwellMs: 10 } }, balanced).safeMode).toEqual({
      dwellMs: 10,
      healthyWindows: SAFE_MODE_DEFAULTS.healthyWindows,
    });
    expect(resolveSafetyOptions(undefined, balanced).safeMode).toEqual(SAFE_MODE_DEFAULTS);
  });
});
