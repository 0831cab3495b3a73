import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createEngineMetrics } from "../src/metrics/index.js";
import { Prng } from "../src/random/prng.js";
import { digestOf, type EngineRig, engineRig, eventsOfType } from "./support/engine-harness.js";
import { scrape } from "./support/exposition.js";
import { bowl, eventsSince, feed, ONE, type Plant } from "./support/safety-drill.js";

/**
 * `bursts` bursts of `size` digests `innerMs` apart, each at the live x: one every `everyMs`, or
 * `everyMs(b)` after the one before for burst b. `afterBurst` runs after each.
 */
function feedBursts(
  rig: EngineRig,
  bursts: number,
  everyMs: number | ((burst: number) => number),
  size: number,
  innerMs: number,
  plant: Plant,
  afterBurst?: () => void,
) {
  let i = 0;
  for (let b = 0; b < bursts; b++) {
    rig.clock.advanceBy((typeof everyMs === "number" ? everyMs : everyMs(b)) - (size - 1) * innerMs);
    for (let k = 0; k < size; k++) {
      if (k > 0) rig.clock.advanceBy(innerMs);
      rig.engine.observe(digestOf(rig.engine, plant(rig.engine.values[0]!, i++)));
    }
    afterBurst?.();
  }
}

/** Stops the telemetry for `ms`: how long after the last digest each stall in that time came. */
function stallsInSilence(rig: EngineRig, ms: number): number[] {
  const quiet = rig.events.length;
  const lastDigestAt = rig.clock.now();
  rig.clock.advanceBy(ms);
  return eventsOfType(eventsSince(rig, quiet), "spsa.stalled").map((s) => s.time - lastDigestAt);
}

// Windows shorter than the time between digests (`ms: 15` meant as seconds) stall the cycle at
// every digest, and a stall alone looks like a telemetry gap. The stall after a resume tells them
// apart: `spsa.stalled` says `shortWindows` from the second bounce in a row on
// (docs/concepts/evaluation-windows.md).

describe("spsa.stalled tells windows shorter than the digests' spacing from a telemetry gap", () => {
  it("15 ms windows against a digest a second: the third stall on says shortWindows, with the spacing", () => {
    const plant = bowl(3);
    // Not stretched, so that every stall is seen.
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 5, ms: 15, stretch: false } });
    feed(rig, 30, 1000, plant);
    const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
    expect(rig.engine.snapshot().iteration).toBe(0);
    expect(stalls).toHaveLength(30);
    // The first stall came before any digest, the second after one resume: either could be a gap.
    expect(stalls.slice(0, 2).map((s) => s.shortWindows)).toEqual([undefined, undefined]);
    for (const stall of stalls.slice(2)) {
      expect(stall.shortWindows).toBe(true);
      // Each digest resumes the cycle when the window it fell in times out: within 15 ms of it.
      expect(stall.digestSpacingMs).toBeGreaterThanOrEqual(1000 - 15);
      expect(stall.digestSpacingMs).toBeLessThanOrEqual(1000 + 15);
    }
  });

  it("telemetry that stops and comes back, even with one stray digest in the gap, is never called short windows", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 5, ms: 500 } });
    feed(rig, 200, 50, plant);
    rig.clock.advanceBy(10_000);
    feed(rig, 1, 50, plant); // a stray digest: it resumes the cycle, which stalls again (one bounce)
    rig.clock.advanceBy(10_000);
    feed(rig, 200, 50, plant);
    rig.clock.advanceBy(30_000);
    feed(rig, 200, 50, plant);
    const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
    expect(stalls).toHaveLength(3);
    for (const stall of stalls) {
      expect(stall.shortWindows).toBeUndefined();
      expect(stall.digestSpacingMs).toBeUndefined();
    }
    expect(rig.engine.snapshot().iteration).toBeGreaterThan(10);
  });

  it("once the digests come closer than a window lasts, the stalls stop", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 2, ms: 400 } });
    // Three 400 ms windows time out empty between two digests 2 s apart.
    feed(rig, 10, 2000, plant);
    const before = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
    expect(before.at(-1)?.shortWindows).toBe(true);
    const mark = rig.events.length;
    const iteration = rig.engine.snapshot().iteration;
    feed(rig, 200, 100, plant);
    expect(eventsOfType(eventsSince(rig, mark), "spsa.stalled")).toEqual([]);
    expect(rig.engine.snapshot().iteration).toBeGreaterThan(iteration + 5);
  });

  it("the default windows, against a digest every 2 s, stretch to the digests' pace and tune", () => {
    const plant = bowl(3);
    // Left out, `window` is 1 digest or 500 ms: three 500 ms windows time out between two digests.
    const rig = engineRig({ seed: 3, params: ONE });
    feed(rig, 300, 2000, plant);
    const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
    // Two stalls that could be a gap, then the one that names short windows: from there on,
    // windows last twice the spacing, and no window times out empty.
    expect(stalls).toHaveLength(3);
    expect(stalls[2]!.shortWindows).toBe(true);
    const stretchedAt = rig.events.indexOf(stalls[2]!);
    expect(eventsOfType(rig.events.slice(stretchedAt + 2), "eval.timeout")).toEqual([]);
    const tuned = rig.engine.snapshot();
    // Two digest spacings: room for the window's one digest, and one spacing more.
    expect(tuned.window).toEqual({ ms: 2 * stalls[2]!.digestSpacingMs!, stretched: true });
    expect(tuned.iteration).toBeGreaterThan(80);
    // The bowl's minimum is at 3; the centre started at 5.
    expect(Math.abs(tuned.centre.x! - 3)).toBeLessThan(1);

    // `stretch: false` keeps the 500 ms: the cycle stalls at every digest and never completes an iteration.
    const kept = engineRig({ seed: 3, params: ONE, window: { digests: 1, ms: 500, stretch: false } });
    feed(kept, 300, 2000, plant);
    expect(kept.engine.snapshot().iteration).toBe(0);
    expect(kept.engine.snapshot().window).toEqual({ ms: 500, stretched: false });
    expect(eventsOfType(eventsSince(kept, 0), "spsa.stalled").length).toBeGreaterThan(250);
  });

  it("a service that reports in bursts is named short windows too, and the default windows stretch to its pace", () => {
    // Two, three or ten digests a few ms apart, every 2, 3 or 5 s: a burst's later digests fill a
    // window or two after each resume, so counting filled windows alone took every stall for a gap.
    for (const [size, innerMs, everyMs] of [
      [2, 10, 2000],
      [3, 10, 2000],
      [10, 1, 3000],
      [5, 5, 5000],
    ] as const) {
      const plant = bowl(3);
      const rig = engineRig({ seed: 3, params: ONE });
      feedBursts(rig, 300, everyMs, size, innerMs, plant);
      const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
      const what = `${size} digests every ${everyMs} ms`;
      expect(stalls, what).toHaveLength(3);
      expect(stalls[2]!.shortWindows, what).toBe(true);
      expect(stalls[2]!.digestSpacingMs, what).toBe(everyMs);
      const tuned = rig.engine.snapshot();
      expect(tuned.iteration, what).toBeGreaterThan(150);
      expect(Math.abs(tuned.centre.x! - 3), what).toBeLessThan(0.5);

      // Unstretched, the cycle still stalls at every burst, and now says why.
      const kept = engineRig({ seed: 3, params: ONE, window: { digests: 1, ms: 500, stretch: false } });
      feedBursts(kept, 30, everyMs, size, innerMs, plant);
      const keptStalls = eventsOfType(eventsSince(kept, 0), "spsa.stalled");
      expect(kept.engine.snapshot().iteration, what).toBe(0);
      expect(keptStalls, what).toHaveLength(30);
      expect(
        keptStalls.filter((s) => s.shortWindows === true),
        what,
      ).toHaveLength(28);
    }
  });

  it("bursts keep the stretch: the windows one burst fills quickly do not give it up", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    feedBursts(rig, 30, 2000, 3, 10, plant);
    const mark = rig.events.length;
    feedBursts(rig, 200, 2000, 3, 10, plant);
    // Every window waits for the next burst within the stretched limit: none times out empty.
    expect(eventsOfType(eventsSince(rig, mark), "eval.timeout")).toEqual([]);
    expect(eventsOfType(eventsSince(rig, mark), "spsa.stalled")).toEqual([]);
  });

  it("a burst that fills a window by itself stretches the limit by bursts, not by digests", () => {
    const plant = bowl(3);
    // Thirty digests within 29 ms every 3 s, against windows of 5 digests or 500 ms.
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 5, ms: 500 } });
    feedBursts(rig, 200, 3000, 30, 1, plant);
    const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
    expect(stalls.map((s) => s.shortWindows ?? false)).toEqual([false, false, true]);
    // One burst fills a window: one spacing for it and one more, not six.
    expect(rig.engine.snapshot().window).toEqual({ ms: 2 * 3000, stretched: true });
    // Each iteration waits for the guardrails' pacing between applies, which a burst outlasts.
    expect(rig.engine.snapshot().iteration).toBeGreaterThan(100);
  });

  it("a burst late by more than the stretched limit does not give the stretch up", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    // Three digests 5 ms apart; 2 s between bursts, and every twentieth gap 4.2 s, past the
    // stretched 4 s.
    feedBursts(rig, 300, (b) => (b % 20 === 19 ? 4200 : 2000) + 10, 3, 5, plant);
    // The late window times out and waits again: no run of quick fills spans it.
    expect(eventsOfType(eventsSince(rig, 0), "spsa.stalled")).toHaveLength(3);
    expect(rig.engine.snapshot().window.stretched).toBe(true);
    expect(rig.engine.snapshot().iteration).toBeGreaterThan(150);
  });

  it("outages with seconds of telemetry between them are gaps, however slowly the cycle moves meanwhile", () => {
    // A 10 Hz service that comes back for a few seconds between 30 s outages. Windows that fill
    // slowly after each return (a settle period, paced applies, many digests per window) are no
    // reason to call these short windows, nor to stretch them.
    for (const [what, options, upS] of [
      ["settleMs 5 s", { settleMs: 5000 }, 8],
      ["applies at most every 10 s", { guardrails: { minIntervalMs: 10_000 } }, 5],
      ["windows of 20 digests or 5 s", { window: { digests: 20, ms: 5000 } }, 6],
    ] as const) {
      const plant = bowl(3);
      const rig = engineRig({ seed: 3, params: ONE, ...options });
      feed(rig, 1200, 100, plant);
      for (let outage = 0; outage < 3; outage++) {
        rig.clock.advanceBy(30_000);
        feed(rig, upS * 10, 100, plant);
      }
      const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
      expect(stalls, what).toHaveLength(3);
      expect(
        stalls.every((s) => s.shortWindows === undefined),
        what,
      ).toBe(true);
      expect(rig.engine.snapshot().window.stretched, what).toBe(false);
    }
  });

  it("a service slower than the windows but within a stall of them gets the configured limit back after an outage", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    // A digest every 700 ms: each 500 ms window times out once, and none stalls.
    feed(rig, 300, 700, plant);
    // An outage with two blips of two digests, a minute apart: taken for short windows.
    for (let blip = 0; blip < 2; blip++) {
      rig.clock.advanceBy(60_000);
      feed(rig, 2, 50, plant);
    }
    rig.clock.advanceBy(60_000);
    expect(rig.engine.snapshot().window.stretched).toBe(true);
    // Back at its pace: its windows fill within a stall of 500 ms windows, so the limit comes back.
    feed(rig, 600, 700, plant);
    expect(rig.engine.snapshot().window).toEqual({ ms: 500, stretched: false });
    expect(stallsInSilence(rig, 60_000)[0]).toBeLessThanOrEqual(1500);
  });

  it("digests in pairs further apart than a window lasts, every few seconds, are named short windows and tune", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    // Two reporters, each every 3 s, 700 ms apart: the pair spans more than 500 ms, but could
    // never feed an iteration's three windows before the next stall.
    feedBursts(rig, 300, 3000, 2, 700, plant);
    const stalls = eventsOfType(eventsSince(rig, 0), "spsa.stalled");
    expect(stalls).toHaveLength(3);
    expect(stalls[2]!.shortWindows).toBe(true);
    expect(rig.engine.snapshot().iteration).toBeGreaterThan(150);
  });

  it("a limit stretched too far by strays in an outage comes back to the service's own pace", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    feed(rig, 300, 2000, plant); // a digest every 2 s: stretched to 4 s
    expect(rig.engine.snapshot().window).toEqual({ ms: 4000, stretched: true });
    // A 15-minute outage with two strays 5 minutes apart: stretched to 600 s.
    rig.clock.advanceBy(300_000);
    feed(rig, 2, 300_000, plant);
    rig.clock.advanceBy(300_000);
    expect(rig.engine.snapshot().window.ms).toBe(600_000);
    // Back at 2 s: eight windows filled within a quarter of the limit shorten it to twice their
    // longest wait, and a gap is noticed after three such windows again, not after 30 minutes.
    feed(rig, 30, 2000, plant);
    expect(rig.engine.snapshot().window).toEqual({ ms: 4000, stretched: true });
    expect(stallsInSilence(rig, 3_600_000)[0]).toBe(12_000);
  });

  it("bursts near the boundary do not turn the stretch on and off", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    const gaps = Prng.fromSeed(21, 2);
    let switches = 0;
    let stretched = false;
    // Three digests 10 ms apart, one burst every 1.3 to 1.9 s: about a stall of 500 ms windows.
    feedBursts(
      rig,
      1000,
      () => Math.round(1300 + 600 * gaps.next()),
      3,
      10,
      plant,
      () => {
        if (rig.engine.snapshot().window.stretched !== stretched) {
          stretched = !stretched;
          switches++;
        }
      },
    );
    // Under the first version of the restore rule it switched 37 times, with 124 stalls.
    expect(switches).toBeLessThanOrEqual(2);
    expect(eventsOfType(eventsSince(rig, 0), "spsa.stalled").length).toBeLessThan(20);
  });

  it("stretched windows hold their digest count, and give the stretch up once telemetry speeds up", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 5, ms: 15 } });
    // A digest a second against 15 ms windows (seconds written as ms): stretched to 6 digest spacings.
    feed(rig, 120, 1000, plant);
    const mark = rig.events.length;
    feed(rig, 100, 1000, plant);
    const windows = eventsOfType(eventsSince(rig, mark), "window.closed");
    expect(windows.length).toBeGreaterThan(15);
    expect(windows.every((w) => w.count === 5 && !w.timedOut)).toBe(true);
    expect(rig.engine.snapshot().iteration).toBeGreaterThan(10);

    // A digest every 2 ms from here: three windows fill within 15 ms, and the limit is 15 ms again,
    // so a gap in the telemetry stalls the cycle after three such windows, not three stretched ones.
    expect(rig.engine.snapshot().window).toEqual({ ms: expect.any(Number), stretched: true });
    feed(rig, 1000, 2, plant);
    expect(rig.engine.snapshot().window).toEqual({ ms: 15, stretched: false });
    const stalls = stallsInSilence(rig, 1000);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeLessThanOrEqual(3 * 15 + 15);
  });

  it("an outage with stray digests in it does not leave the windows stretched", () => {
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    feed(rig, 200, 100, plant);
    // Fifteen minutes with two stray digests five minutes apart: taken for short windows.
    rig.clock.advanceBy(5 * 60_000);
    feed(rig, 2, 5 * 60_000, plant);
    rig.clock.advanceBy(5 * 60_000);
    expect(eventsOfType(eventsSince(rig, 0), "spsa.stalled").some((s) => s.shortWindows === true)).toBe(true);
    // Telemetry flows again; the next gap is noticed after three 500 ms windows, as before the outage.
    feed(rig, 200, 100, plant);
    expect(stallsInSilence(rig, 60_000)[0]).toBeLessThanOrEqual(1500);
  });

  it("arqon_spsa_stalls_total counts the stalls by cause", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE, window: { digests: 5, ms: 15, stretch: false } });
    metrics.attach(rig.engine);
    feed(rig, 12, 1000, plant);
    rig.engine.flushEvents();
    const series = await scrape(registry);
    expect(series.get('arqon_spsa_stalls_total{cause="no-telemetry"}')).toBe(2);
    expect(series.get('arqon_spsa_stalls_total{cause="short-windows"}')).toBe(10);
    // Not stretched: the stalls go on, and the limit stays as configured.
    expect(series.get("arqon_window_stretched")).toBe(0);
    expect(series.get("arqon_window_limit_seconds")).toBe(0.015);
    metrics.detach();
  });

  it("arqon_window_stretched says so while the limit is stretched, however late the first scrape comes", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const plant = bowl(3);
    const rig = engineRig({ seed: 3, params: ONE });
    metrics.attach(rig.engine);
    // A digest every 2 s: stretched at the third stall, about 6 s in; scraped first a minute later,
    // when the stall counter has long stopped moving.
    feed(rig, 30, 2000, plant);
    rig.engine.flushEvents();
    const stretched = await scrape(registry);
    expect(stretched.get('arqon_spsa_stalls_total{cause="short-windows"}')).toBe(1);
    expect(stretched.get("arqon_window_stretched")).toBe(1);
    expect(stretched.get("arqon_window_limit_seconds")).toBeCloseTo(4, 1);
    // Telemetry ten times a second from here: the configured limit is back.
    feed(rig, 100, 100, plant);
    const restored = await scrape(registry);
    expect(restored.get("arqon_window_stretched")).toBe(0);
    expect(restored.get("arqon_window_limit_seconds")).toBe(0.5);
    metrics.detach();
  });
});
