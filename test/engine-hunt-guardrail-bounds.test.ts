import { describe, expect, it } from "vitest";
import { engineConfigIssues } from "../src/engine/config.js";
import { createEngine } from "../src/engine/engine.js";
import { ConfigError } from "../src/errors.js";
import { guardrailIssues } from "../src/hotpath/guardrails.js";
import { ManualClock } from "./support/engine-clock.js";

// guardrails.flipLimit and guardrails.regressionLimit are the defaults of the thrashing detector's
// flipLimit and of safety.violationLimit: the guardrail rules hold them to the same bounds, so a
// config that validates also builds, and a bad value is reported under the path the user wrote.

const config = (guardrails: Record<string, number>) => ({
  seed: 1,
  params: { x: { min: 0, max: 10 } },
  guardrails,
});

describe("guardrail limits that size the safety detectors are bounded", () => {
  it.each([
    ["flipLimit", 1001, "must be a whole number from 1 to 1000, got 1001"],
    ["flipLimit", 1e9, "must be a whole number from 1 to 1000, got 1000000000"],
    ["regressionLimit", 2_000_000, "must be a whole number from 1 to 1000000, got 2000000"],
    ["regressionLimit", 1e300, "must be a whole number from 1 to 1000000, got 1e+300"],
  ])(
    "guardrails.%s = %d is a config issue, and createEngine throws a ConfigError naming it",
    (field, value, message) => {
      const input = config({ [field]: value });
      expect(engineConfigIssues(input)).toEqual([{ path: `guardrails.${field}`, message }]);
      expect(guardrailIssues({ [field]: value })).toEqual([{ path: `guardrails.${field}`, message }]);
      let thrown: unknown;
      try {
        createEngine({ ...input, scheduler: new ManualClock() });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).issues).toEqual([{ path: `guardrails.${field}`, message }]);
    },
  );

  it("the largest values allowed build an engine", async () => {
    const engine = createEngine({
      ...config({ flipLimit: 1000, regressionLimit: 1_000_000 }),
      scheduler: new ManualClock(),
    });
    expect(engine.mode).toBe("normal");
    await engine.close();
  });
});
