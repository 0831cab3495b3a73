import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_WRITE_TIMEOUT_MS, TelemetryPublisher } from "../src/fleet/telemetry-publisher.js";
import { FLEET_RING } from "./support/fleet.js";

// A client that queues commands while disconnected (ioredis's default offline queue), or a
// connection that hangs, leaves a write unanswered for as long as the client retries. A trial saw
// the breaker stay closed through a 70 s outage, thousands of digests waiting in the client's
// queue, then all shipped late. An unanswered write now fails at writeTimeoutMs.

/** A client whose writes are never answered, counting the pipelines it was given. */
function hangingRedis(): { redis: Redis; writes: () => number } {
  let writes = 0;
  const redis = {
    pipeline() {
      const pipeline = {
        xadd: () => pipeline,
        exec: () => {
          writes++;
          return new Promise(() => {});
        },
      };
      return pipeline;
    },
  } as unknown as Redis;
  return { redis, writes: () => writes };
}

/** The publisher's options but its client: flushes every 50 ms. */
const OPTIONS = { stream: "s", replica: "r1", keyring: FLEET_RING, flushMs: 50 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("telemetry write timeout", () => {
  it("counts an unanswered write lost at writeTimeoutMs, and opens the breaker after three", async () => {
    const { redis, writes } = hangingRedis();
    const publisher = new TelemetryPublisher({ ...OPTIONS, redis });
    for (let i = 0; i < 10; i++) publisher.publish(1, 0);
    await vi.advanceTimersByTimeAsync(50);
    expect(publisher.stats()).toMatchObject({ inFlight: 10, lostInFlight: 0, breaker: "closed" });
    // Just before the deadline the write is still pending; at it, it is lost.
    await vi.advanceTimersByTimeAsync(DEFAULT_WRITE_TIMEOUT_MS - 1);
    expect(publisher.stats()).toMatchObject({ inFlight: 10, lostInFlight: 0 });
    await vi.advanceTimersByTimeAsync(1);
    expect(publisher.stats()).toMatchObject({ inFlight: 0, lostInFlight: 10, breaker: "closed" });
    // Two more unanswered flushes open the breaker: no write is sent while it is open.
    for (let k = 0; k < 2; k++) {
      publisher.publish(1, 0);
      await vi.advanceTimersByTimeAsync(50 + DEFAULT_WRITE_TIMEOUT_MS);
    }
    expect(publisher.stats()).toMatchObject({ lostInFlight: 12, breaker: "open" });
    const sent = writes();
    expect(sent).toBe(3);
    publisher.publish(1, 0);
    await vi.advanceTimersByTimeAsync(500);
    expect(writes()).toBe(sent);
    expect(publisher.stats()).toMatchObject({ buffered: 1, inFlight: 0 });
    await publisher.close(0);
  });

  it("takes writeTimeoutMs from the options, and refuses one that is not a whole number of ms", async () => {
    const { redis } = hangingRedis();
    const options = { ...OPTIONS, redis };
    const publisher = new TelemetryPublisher({ ...options, writeTimeoutMs: 200 });
    publisher.publish(1, 0);
    await vi.advanceTimersByTimeAsync(50 + 199);
    expect(publisher.stats().lostInFlight).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(publisher.stats().lostInFlight).toBe(1);
    await publisher.close(0);
    for (const bad of [0, 2.5, -1])
      expect(() => new TelemetryPublisher({ ...options, writeTimeoutMs: bad })).toThrow(
        `writeTimeoutMs: must be a whole number from 1 to 2147483647 (got ${bad})`,
      );
  });

  it("close(grace) does not wait for a write in flight past its grace", async () => {
    const { redis } = hangingRedis();
    const publisher = new TelemetryPublisher({ ...OPTIONS, redis });
    for (let i = 0; i < 4; i++) publisher.publish(1, 0);
    await vi.advanceTimersByTimeAsync(50);
    publisher.publish(2, 0);
    let closed = false;
    const closing = publisher.close(100).then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(100);
    await closing;
    expect(closed).toBe(true);
    // The write is still out, the digest behind it will never ship: both counted, none lost from view.
    const t = publisher.stats();
    expect(t).toMatchObject({ published: 5, inFlight: 4, unshipped: 1, lostInFlight: 0 });
    // Its timeout comes later and counts it lost; the stopped breaker is left alone.
    await vi.advanceTimersByTimeAsync(DEFAULT_WRITE_TIMEOUT_MS);
    expect(publisher.stats()).toMatchObject({ inFlight: 0, lostInFlight: 4, unshipped: 1 });
  });
});
