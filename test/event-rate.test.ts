import { describe, expect, it } from "vitest";
import { EventRate } from "../src/engine/safety/event-rate.js";

describe("EventRate: at most `limit` events within `windowMs`", () => {
  it("counts the events inside the window ending now, and says when it is below the limit again", () => {
    const rate = new EventRate(3, 1000);
    expect(rate.record(0)).toBe(1);
    expect(rate.record(100)).toBe(2);
    expect(rate.full(200)).toBe(false);
    expect(rate.record(200)).toBe(3);
    expect(rate.full(300)).toBe(true);
    expect(rate.belowLimitAt(300)).toBe(1000); // the event at 0 leaves the window at 1000
    expect(rate.count(1000)).toBe(2);
    expect(rate.belowLimitAt(1000)).toBe(Number.NEGATIVE_INFINITY);
  });

  it("remembers only the latest `limit` events", () => {
    const rate = new EventRate(2, 10_000);
    for (const t of [0, 1, 2, 3]) rate.record(t);
    expect(rate.recorded).toBe(2);
    expect(rate.count(3)).toBe(2);
  });

  it("takes back the latest event, also after the ring wrapped, and the next one takes its place", () => {
    const rate = new EventRate(3, 1000);
    for (const t of [0, 10, 20, 30]) rate.record(t); // 0 was overwritten by 30
    rate.retractLast();
    expect(rate.recorded).toBe(2);
    expect(rate.count(40)).toBe(2); // 10 and 20
    expect(rate.record(50)).toBe(3);
    rate.retractLast();
    rate.retractLast();
    rate.retractLast();
    rate.retractLast(); // nothing left to take back
    expect(rate.recorded).toBe(0);
    expect(rate.record(60)).toBe(1);
  });

  it("clear() forgets everything; a limit of 0 puts every event over it", () => {
    const rate = new EventRate(2, 1000);
    rate.record(0);
    rate.record(1);
    rate.clear();
    expect(rate.recorded).toBe(0);
    expect(rate.full(2)).toBe(false);
    const none = new EventRate(0, 1000);
    expect(none.full(0)).toBe(true);
    expect(none.record(0)).toBe(1);
  });
});
