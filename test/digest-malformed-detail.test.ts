import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { malformedDetail } from "../src/audit/malformed-digest.js";
import type { Digest } from "../src/engine/digest.js";
import { createLoggedEngine, replay } from "../src/node.js";
import { engineRig, eventsOfType } from "./support/engine-harness.js";
import { tempLogDirs } from "./support/log-dir.js";
import { eventsSince, ONE } from "./support/safety-drill.js";

const logDir = tempLogDirs();

// A malformed digest's rejection names the field at fault and what is wrong with it, so that a
// host sending "3" for 3 is told which of its fields to fix (docs/concepts/evaluation-windows.md).

const g = 0;
const cases: readonly { digest: unknown; field: string; problem: string }[] = [
  { digest: null, field: "digest", problem: "must be an object, got null" },
  { digest: "12.5", field: "digest", problem: "must be an object, got a string" },
  { digest: 12.5, field: "digest", problem: "must be an object, got a number" },
  { digest: undefined, field: "digest", problem: "must be an object, it is missing" },
  { digest: { generation: g }, field: "objective", problem: "must be a number, it is missing" },
  {
    digest: { objective: "3", generation: g },
    field: "objective",
    problem: "must be a number, got a string",
  },
  { digest: { objective: 3n, generation: g }, field: "objective", problem: "must be a number, got a bigint" },
  {
    digest: { objective: 3 },
    field: "generation",
    problem: "must be a non-negative safe integer, it is missing",
  },
  {
    digest: { objective: 3, generation: 1.5 },
    field: "generation",
    problem: "must be a non-negative safe integer, got 1.5",
  },
  {
    digest: { objective: 3, generation: -1 },
    field: "generation",
    problem: "must be a non-negative safe integer, got -1",
  },
  {
    digest: { objective: 3, generation: Number.NaN },
    field: "generation",
    problem: "must be a non-negative safe integer, got NaN",
  },
  {
    digest: { objective: 3, generation: g, timestamp: Number.POSITIVE_INFINITY },
    field: "timestamp",
    problem: "must be a finite number when given, got an infinite number",
  },
  {
    digest: { objective: 3, generation: g, timestamp: new Date(0) },
    field: "timestamp",
    problem: "must be a finite number when given, got an object",
  },
  {
    digest: { objective: 3, generation: g, constraintMargin: "x" },
    field: "constraintMargin",
    problem: "must be a number other than NaN when given, got a string",
  },
  {
    digest: { objective: 3, generation: g, latencyP99: Number.NaN },
    field: "latencyP99",
    problem: "must be a number other than NaN when given, got NaN",
  },
  {
    digest: { objective: 3, generation: g, throughput: true },
    field: "throughput",
    problem: "must be a number other than NaN when given, got a boolean",
  },
  {
    digest: { objective: 3, generation: g, errorRate: null },
    field: "errorRate",
    problem: "must be a number other than NaN when given, got null",
  },
  // Two faults: the first field in the digest's order is named.
  {
    digest: { objective: 3, generation: g, timestamp: "now", errorRate: "x" },
    field: "timestamp",
    problem: "must be a finite number when given, got a string",
  },
  {
    digest: {
      objective: 3,
      get generation(): number {
        throw new Error("host bug");
      },
    },
    field: "digest",
    problem: "reading a property of it threw",
  },
  // A throw after fields that were absent or no number: the record holds their NaN, and the
  // numbers read before the throw (latencyP99), which a replay must give back.
  {
    digest: {
      objective: 1,
      generation: g,
      latencyP99: 5,
      get throughput(): number {
        throw new Error("host bug");
      },
    },
    field: "digest",
    problem: "reading a property of it threw",
  },
  {
    digest: {
      objective: "3",
      generation: g,
      get timestamp(): number {
        throw new Error("host bug");
      },
    },
    field: "digest",
    problem: "reading a property of it threw",
  },
];

describe("digest.rejected names the malformed field and the problem", () => {
  for (const captureDigests of [false, true]) {
    it(`for every kind of fault (captureDigests: ${captureDigests})`, () => {
      const rig = engineRig({ seed: 1, params: ONE, captureDigests });
      for (const c of cases) expect(rig.engine.observe(c.digest as Digest)).toBe("malformed");
      const rejected = eventsOfType(eventsSince(rig, 0), "digest.rejected");
      expect(rejected.map((e) => ({ field: e.field, problem: e.problem }))).toEqual(
        cases.map((c) => ({ field: c.field, problem: c.problem })),
      );
      expect(rejected.every((e) => e.reason === "Malformed")).toBe(true);
    });
  }

  it("other rejections carry no field, and a well-formed digest leaves no detail behind", () => {
    const rig = engineRig({ seed: 1, params: ONE });
    rig.engine.observe({ objective: 1, generation: 7 });
    rig.engine.observe({ objective: Number.NaN, generation: 0 });
    rig.engine.observe({ objective: "1" } as unknown as Digest);
    rig.engine.observe({ objective: 1, generation: 99 });
    const rejected = eventsOfType(eventsSince(rig, 0), "digest.rejected");
    expect(rejected.map((e) => [e.reason, e.field])).toEqual([
      ["WrongGeneration", undefined],
      ["NonFiniteObjective", undefined],
      ["Malformed", "objective"],
      ["WrongGeneration", undefined],
    ]);
    expect(rejected.every((e) => e.reason === "Malformed" || !("problem" in e))).toBe(true);
  });

  it("a decision log of them replays bit for bit: each is rebuilt with the fault its record names", async () => {
    const dir = logDir();
    const scheduler = new VirtualTimeScheduler();
    const { engine, close } = createLoggedEngine({ seed: 1, params: ONE, scheduler }, { dir, flushMs: 50 });
    let t = 0;
    for (const c of cases) {
      // Up to t only: the windows' time limits re-arm for ever, so a plain flush would not end.
      t += 50;
      scheduler.maxFrames = t;
      scheduler.flush();
      expect(engine.observe(c.digest as Digest)).toBe("malformed");
      engine.observe({ objective: 1, generation: engine.generation });
    }
    await close();
    const result = await replay(dir);
    expect(result.ok).toBe(true);
  });

  it("a record without a detail (written before schema 8) or with an unknown code decodes without one", () => {
    expect(malformedDetail(-1, 0)).toBeUndefined();
    expect(malformedDetail(16 * 40, 0)).toBeUndefined();
    expect(malformedDetail(16 + 15, 0)).toBeUndefined();
    expect(malformedDetail(0.5, 0)).toBeUndefined();
  });
});
