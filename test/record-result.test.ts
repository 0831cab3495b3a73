import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { JournalError } from "../src/study/journal.js";
import { askRecovering, isRedisFailure } from "../src/study/record-result.js";
import type { SharedStudy } from "../src/study/shared-study.js";

describe("isRedisFailure", () => {
  it("is true for what a call to Redis fails with, false for refusals and program defects", () => {
    const connection = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), {
      code: "ECONNREFUSED",
    });
    expect(isRedisFailure(connection)).toBe(true);
    expect(isRedisFailure(new Error("Reached the max retries per request limit (which is 3)"))).toBe(true);
    expect(isRedisFailure(new UsageError("trial 1 was already told"))).toBe(false);
    expect(isRedisFailure(new JournalError(3, "is not JSON"))).toBe(false);
    expect(isRedisFailure(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(isRedisFailure(new RangeError("invalid array length"))).toBe(false);
    expect(isRedisFailure(new ReferenceError("x is not defined"))).toBe(false);
  });

  it("lets askRecovering give up at once on a program defect, with a long retryMs", async () => {
    let asks = 0;
    const study = {
      ask: async () => {
        asks++;
        throw new TypeError("cannot read properties of undefined");
      },
    } as unknown as SharedStudy;
    await expect(askRecovering(study, { retryMs: 600_000 })).rejects.toThrow(TypeError);
    expect(asks).toBe(1);
  });
});
