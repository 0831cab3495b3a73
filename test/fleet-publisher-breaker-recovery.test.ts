import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { FLEET_RING } from "./support/fleet.js";

// How long a replica's telemetry breaker stays open once Redis answers again (docs/guide/metrics.md):
// at most the breaker's longest backoff (60 s by default) and a flush, however long the outage.
// Writes here fail at once, the fastest the backoff can grow.

let down = true;
const redis = {
  pipeline() {
    const pipeline = {
      xadd: () => pipeline,
      exec: async () => {
        if (down) throw new Error("connect ECONNREFUSED");
        return [[null, "1-0"]];
      },
    };
    return pipeline;
  },
} as unknown as Redis;

beforeEach(() => {
  vi.useFakeTimers();
  down = true;
});
afterEach(() => {
  vi.useRealTimers();
});

/** A replica publishing every 50 ms: `ms` of outage, then ms until its breaker closes again. */
async function recoveryAfter(outageMs: number, breaker?: { maxBackoffMs: number }): Promise<number> {
  const publisher = new TelemetryPublisher({
    redis,
    stream: "s",
    replica: "r1",
    keyring: FLEET_RING,
    flushMs: 50,
    ...(breaker === undefined ? {} : { breaker }),
  });
  const tick = async () => {
    publisher.publish(1, 0);
    await vi.advanceTimersByTimeAsync(50);
  };
  for (let t = 0; t < outageMs; t += 50) await tick();
  expect(publisher.stats().breaker).not.toBe("closed");
  down = false;
  let waited = 0;
  while (publisher.stats().breaker !== "closed") {
    await tick();
    waited += 50;
    if (waited > 3_600_000) break;
  }
  await publisher.close(0);
  return waited;
}

describe("telemetry breaker recovery", () => {
  it("closes within its longest backoff and a flush of Redis answering, however long the outage", async () => {
    for (const outageMs of [150_000, 3_600_000]) {
      down = true;
      expect(await recoveryAfter(outageMs)).toBeLessThanOrEqual(60_000 + 50);
    }
  });

  it("closes sooner with a shorter maxBackoffMs", async () => {
    expect(await recoveryAfter(150_000, { maxBackoffMs: 5_000 })).toBeLessThanOrEqual(5_000 + 50);
  });
});
