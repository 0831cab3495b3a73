import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkDigest, DIGEST_ACCEPTED, DigestRejection, rejectionName } from "../src/engine/digest.js";

const { Malformed, NonFiniteObjective, WrongGeneration, Settling, TooOld, FromFuture } = DigestRejection;
const KNOWN_CODES = [
  DIGEST_ACCEPTED,
  Malformed,
  NonFiniteObjective,
  WrongGeneration,
  Settling,
  TooOld,
  FromFuture,
];

/** Engine-side context used unless a test says otherwise: apply at 500, settle 100, age 10 s, skew 50. */
const CTX = { expected: 1, lastApplyAt: 500, now: 1500, settleMs: 100, maxAgeMs: 10_000, maxSkewMs: 50 };

function check(d: unknown, over: Partial<typeof CTX> = {}): number {
  const c = { ...CTX, ...over };
  return checkDigest(d, c.expected, c.lastApplyAt, c.now, c.settleMs, c.maxAgeMs, c.maxSkewMs);
}

const good = { objective: 2.5, generation: 1, timestamp: 1000 };

describe("checkDigest: arqonhpo case 17 in milliseconds", () => {
  it("accepts a digest at t = 1000, generation 1 (expected 1, apply 500, settle 100, max age 10000, now 1500)", () => {
    expect(check(good)).toBe(DIGEST_ACCEPTED);
  });
  it("reports WrongGeneration when generation 2 is expected", () => {
    expect(check(good, { expected: 2 })).toBe(WrongGeneration);
  });
  it("reports Settling when the apply happened at 950", () => {
    expect(check(good, { lastApplyAt: 950 })).toBe(Settling);
  });
  it("reports TooOld with max age 500 at now 2000", () => {
    expect(check(good, { maxAgeMs: 500, now: 2000 })).toBe(TooOld);
  });
});

describe("checkDigest: boundaries are accepted, one step past them is not", () => {
  it("settling ends exactly at lastApplyAt + settleMs", () => {
    expect(check({ ...good, timestamp: 600 })).toBe(DIGEST_ACCEPTED);
    expect(check({ ...good, timestamp: 599.999 })).toBe(Settling);
  });
  it("a digest exactly maxAgeMs old is still fresh", () => {
    expect(check(good, { now: 11_000 })).toBe(DIGEST_ACCEPTED);
    expect(check(good, { now: 11_000.001 })).toBe(TooOld);
  });
  it("a digest exactly maxSkewMs ahead of now is tolerated", () => {
    expect(check({ ...good, timestamp: 1550 })).toBe(DIGEST_ACCEPTED);
    expect(check({ ...good, timestamp: 1550.001 })).toBe(FromFuture);
  });
  it("zero settle, age and skew accept only a digest taken at the apply instant that is now", () => {
    const zero = { lastApplyAt: 1000, now: 1000, settleMs: 0, maxAgeMs: 0, maxSkewMs: 0 };
    expect(check(good, zero)).toBe(DIGEST_ACCEPTED);
    expect(check({ ...good, timestamp: 1001 }, zero)).toBe(FromFuture);
    expect(check({ ...good, timestamp: 999 }, zero)).toBe(TooOld);
  });
  it("a digest both too old and stamped before the apply is too-old, not settling", () => {
    // settleMs 0: "settling" would send an operator to a setting that is not in play.
    const stale = { ...good, timestamp: 1000 };
    expect(check(stale, { lastApplyAt: 30_000, now: 29_000 + 1000, settleMs: 0 })).toBe(TooOld);
    expect(check(stale, { lastApplyAt: 5_000, now: 6_000, settleMs: 0 })).toBe(Settling);
  });
  it("with no apply yet (lastApplyAt = −Infinity) nothing is settling", () => {
    expect(
      check({ ...good, timestamp: -1e12 }, { lastApplyAt: Number.NEGATIVE_INFINITY, maxAgeMs: 1e15 }),
    ).toBe(DIGEST_ACCEPTED);
  });
});

describe("checkDigest: a digest without timestamp is taken at now", () => {
  it("is accepted once the system has settled, and is never too old or from the future", () => {
    const d = { objective: 1, generation: 1 };
    expect(check(d)).toBe(DIGEST_ACCEPTED);
    expect(check(d, { maxAgeMs: 0, maxSkewMs: 0 })).toBe(DIGEST_ACCEPTED);
  });
  it("is Settling while now < lastApplyAt + settleMs", () => {
    expect(check({ objective: 1, generation: 1 }, { now: 599 })).toBe(Settling);
    expect(check({ objective: 1, generation: 1 }, { now: 600 })).toBe(DIGEST_ACCEPTED);
  });
  it("treats timestamp: undefined as absent", () => {
    expect(check({ objective: 1, generation: 1, timestamp: undefined })).toBe(DIGEST_ACCEPTED);
  });
});

describe("checkDigest: Malformed", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["a number", 3],
    ["a string", "objective=1"],
    ["a boolean", true],
    ["a bigint", 1n],
    ["a symbol", Symbol("d")],
    ["a function", () => 1],
    ["an array", [1, 1, 1000]],
    ["an empty object", {}],
  ])("rejects %s", (_label, d) => {
    expect(check(d)).toBe(Malformed);
  });

  it.each([
    ["objective missing", { generation: 1 }],
    ["objective a string", { objective: "2.5", generation: 1 }],
    ["objective null", { objective: null, generation: 1 }],
    ["objective a boxed number", { objective: new Number(2.5), generation: 1 }],
    ["generation missing", { objective: 1 }],
    ["generation a string", { objective: 1, generation: "1" }],
    ["generation a bigint", { objective: 1, generation: 1n }],
    ["generation negative", { objective: 1, generation: -1 }],
    ["generation fractional", { objective: 1, generation: 1.5 }],
    ["generation NaN", { objective: 1, generation: Number.NaN }],
    ["generation +Infinity", { objective: 1, generation: Number.POSITIVE_INFINITY }],
    ["generation beyond 2^53", { objective: 1, generation: 2 ** 60 }],
    ["timestamp a string", { objective: 1, generation: 1, timestamp: "1000" }],
    ["timestamp null", { objective: 1, generation: 1, timestamp: null }],
    ["timestamp NaN", { objective: 1, generation: 1, timestamp: Number.NaN }],
    ["timestamp +Infinity", { objective: 1, generation: 1, timestamp: Number.POSITIVE_INFINITY }],
    ["timestamp −Infinity", { objective: 1, generation: 1, timestamp: Number.NEGATIVE_INFINITY }],
    ["constraintMargin a string", { objective: 1, generation: 1, constraintMargin: "0" }],
    ["constraintMargin null", { objective: 1, generation: 1, constraintMargin: null }],
    ["latencyP99 NaN", { objective: 1, generation: 1, latencyP99: Number.NaN }],
    ["throughput an object", { objective: 1, generation: 1, throughput: { rps: 3 } }],
    ["errorRate a boolean", { objective: 1, generation: 1, errorRate: false }],
  ])("rejects a digest with %s", (_label, d) => {
    expect(check(d)).toBe(Malformed);
  });

  it("reports a getter that throws as Malformed instead of throwing", () => {
    const d = { generation: 1 };
    Object.defineProperty(d, "objective", {
      get() {
        throw new Error("host bug");
      },
    });
    expect(check(d)).toBe(Malformed);
  });

  it("reports a throwing Proxy and a revoked Proxy as Malformed", () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new TypeError("no");
        },
      },
    );
    const { proxy, revoke } = Proxy.revocable({ objective: 1, generation: 1 }, {});
    revoke();
    expect(check(hostile)).toBe(Malformed);
    expect(check(proxy)).toBe(Malformed);
  });

  it("accepts optional metrics that are numbers, infinities included", () => {
    const d = {
      objective: 1,
      generation: 1,
      timestamp: 1000,
      constraintMargin: Number.NEGATIVE_INFINITY,
      latencyP99: Number.POSITIVE_INFINITY,
      throughput: 0,
      errorRate: 0.5,
    };
    expect(check(d)).toBe(DIGEST_ACCEPTED);
  });

  it("accepts generation −0 as generation 0", () => {
    expect(check({ objective: 1, generation: -0, timestamp: 1000 }, { expected: 0 })).toBe(DIGEST_ACCEPTED);
  });
});

describe("checkDigest: NonFiniteObjective", () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "rejects objective %s",
    (objective) => {
      expect(check({ ...good, objective })).toBe(NonFiniteObjective);
    },
  );
});

describe("checkDigest: the first failing check wins", () => {
  it("Malformed before NonFiniteObjective", () => {
    expect(check({ objective: Number.NaN, generation: -1 })).toBe(Malformed);
    expect(check({ objective: Number.NaN, generation: 1, timestamp: "x" })).toBe(Malformed);
  });
  it("the generation and time checks before NonFiniteObjective: a NaN they refuse counts for nothing", () => {
    expect(check({ objective: Number.NaN, generation: 7, timestamp: 1000 })).toBe(WrongGeneration);
    expect(check({ ...good, objective: Number.NaN, timestamp: 550 })).toBe(Settling);
    expect(check({ ...good, objective: Number.NaN }, { maxAgeMs: 100 })).toBe(TooOld);
    expect(check({ ...good, objective: Number.NaN, timestamp: 1600 })).toBe(FromFuture);
    expect(check({ objective: Number.POSITIVE_INFINITY, generation: 1 })).toBe(NonFiniteObjective);
  });
  it("WrongGeneration before Settling", () => {
    expect(check({ objective: 1, generation: 7, timestamp: 0 })).toBe(WrongGeneration);
  });
  it("TooOld before Settling", () => {
    expect(check({ ...good, timestamp: 100 }, { maxAgeMs: 10 })).toBe(TooOld);
  });
  it("TooOld before FromFuture (only reachable with a negative skew)", () => {
    expect(check({ ...good, timestamp: 1000 }, { maxAgeMs: 10, maxSkewMs: -1000 })).toBe(TooOld);
  });
});

describe("rejectionName", () => {
  it("names every code by its DigestRejection key, and 0 as Accepted", () => {
    expect(rejectionName(DIGEST_ACCEPTED)).toBe("Accepted");
    for (const [name, code] of Object.entries(DigestRejection)) expect(rejectionName(code)).toBe(name);
  });
  it("answers Unknown for anything else", () => {
    for (const code of [-1, 7, 1.5, Number.NaN, 1e9]) expect(rejectionName(code)).toBe("Unknown");
  });
  it("gives every code a distinct value", () => {
    expect(new Set(KNOWN_CODES).size).toBe(KNOWN_CODES.length);
  });
});

describe("checkDigest properties", () => {
  const ctxArb = fc.record({
    expected: fc.nat({ max: 5 }),
    lastApplyAt: fc.oneof(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.constant(Number.NEGATIVE_INFINITY),
    ),
    now: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    settleMs: fc.double({ min: 0, max: 1e4, noNaN: true }),
    maxAgeMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
    maxSkewMs: fc.double({ min: 0, max: 1e3, noNaN: true }),
  });
  const nastyNumber = fc.oneof(
    fc.double(), // includes NaN, ±Infinity, −0, subnormals, ±MAX_VALUE
    fc.integer({ min: -10, max: 10 }),
    fc.constantFrom(2 ** 53, 2 ** 60, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308),
  );
  const nastyValue = fc.oneof(
    nastyNumber,
    fc.string(),
    fc.constantFrom(null, undefined, true, 1n, [] as unknown[], {}),
  );
  const digestLike = fc.record(
    {
      objective: nastyValue,
      generation: fc.oneof(nastyNumber, fc.nat({ max: 5 }), fc.string()),
      // Stale, settling, current and future timestamps relative to the context's range.
      timestamp: fc.oneof(nastyValue, fc.double({ min: -2e6, max: 2e6, noNaN: true })),
      constraintMargin: nastyValue,
      latencyP99: nastyValue,
      throughput: nastyValue,
      errorRate: nastyValue,
    },
    { requiredKeys: [] },
  );

  it("never throws and always returns a known code, for any value at all", () => {
    fc.assert(
      fc.property(fc.anything(), ctxArb, (d, c) => {
        const code = checkDigest(d, c.expected, c.lastApplyAt, c.now, c.settleMs, c.maxAgeMs, c.maxSkewMs);
        expect(KNOWN_CODES).toContain(code);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts only digests that satisfy every rule (soundness over digest-shaped garbage)", () => {
    fc.assert(
      fc.property(digestLike, ctxArb, (d, c) => {
        const code = checkDigest(d, c.expected, c.lastApplyAt, c.now, c.settleMs, c.maxAgeMs, c.maxSkewMs);
        expect(KNOWN_CODES).toContain(code);
        if (code !== DIGEST_ACCEPTED) return;
        expect(typeof d.objective === "number" && Number.isFinite(d.objective)).toBe(true);
        expect(d.generation).toBe(c.expected);
        const at = d.timestamp === undefined ? c.now : (d.timestamp as number);
        expect(Number.isFinite(at)).toBe(true);
        expect(at).toBeGreaterThanOrEqual(c.lastApplyAt + c.settleMs);
        expect(c.now - at).toBeLessThanOrEqual(c.maxAgeMs);
        expect(at).toBeLessThanOrEqual(c.now + c.maxSkewMs);
        for (const key of ["constraintMargin", "latencyP99", "throughput", "errorRate"] as const) {
          const v = d[key];
          expect(v === undefined || (typeof v === "number" && !Number.isNaN(v))).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("accepts every well-formed digest that is in time and of the expected generation (completeness)", () => {
    // Whole milliseconds keep the interval arithmetic below exact.
    const wholeCtxArb = fc.record({
      expected: fc.nat({ max: 5 }),
      lastApplyAt: fc.integer({ min: -1e6, max: 1e6 }),
      now: fc.integer({ min: -1e6, max: 1e6 }),
      settleMs: fc.nat({ max: 1e4 }),
      maxAgeMs: fc.nat({ max: 1e5 }),
      maxSkewMs: fc.nat({ max: 1e3 }),
    });
    fc.assert(
      fc.property(
        wholeCtxArb,
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.nat(),
        (c, objective, pick) => {
          // A timestamp inside the acceptance interval [max(settled, now − age), now + skew].
          const from = Math.max(c.lastApplyAt + c.settleMs, c.now - c.maxAgeMs);
          const to = c.now + c.maxSkewMs;
          fc.pre(from <= to);
          const timestamp = from + (pick % (to - from + 1));
          const d = { objective, generation: c.expected, timestamp };
          expect(checkDigest(d, c.expected, c.lastApplyAt, c.now, c.settleMs, c.maxAgeMs, c.maxSkewMs)).toBe(
            DIGEST_ACCEPTED,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
