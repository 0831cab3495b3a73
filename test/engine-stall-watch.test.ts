import { describe, expect, it } from "vitest";
import { StallWatch } from "../src/engine/stall-watch.js";

// The rule behind `spsa.stalled`'s `shortWindows` (test/engine-short-windows.test.ts runs it in an
// engine): a stall after a resume is a bounce when no digest came more than the window limit
// (here 500 ms) after the resume; the second bounce in a row names short windows.

/** Accepted digests at `times`, as the engine notes them while the watch asks for them. */
function digests(watch: StallWatch, ...times: number[]): void {
  for (const t of times) {
    if (!watch.watching) continue;
    watch.input[0] = t;
    watch.noteDigestInput();
  }
}

/** A digest at `at` ends a stall (its window closes then), more digests at `later`, then a stall. */
function resumeThenStall(watch: StallWatch, at: number, ...later: number[]): number {
  digests(watch, at);
  watch.onResumed(at);
  digests(watch, ...later);
  return watch.onStall();
}

describe("StallWatch", () => {
  it("names short windows from the second bounce in a row, with the resumes' spacing", () => {
    const watch = new StallWatch(500, 3, 1500);
    expect(watch.onStall()).toBeNaN(); // the first stall: no resume before it
    expect(resumeThenStall(watch, 1000)).toBeNaN();
    expect(resumeThenStall(watch, 3000)).toBe(2000);
    expect(resumeThenStall(watch, 5500)).toBe(2500);
    expect(watch.digestsPerResume).toBe(1);
  });

  it("a burst, digests within the window limit of the resume, still makes a bounce, and says how many it brings", () => {
    const watch = new StallWatch(500, 3, 1500);
    watch.onStall();
    expect(resumeThenStall(watch, 1000, 1010, 1020, 1500)).toBeNaN();
    expect(resumeThenStall(watch, 3000, 3005, 3010)).toBe(2000);
    // The fewer of the last two bounces' digests.
    expect(watch.digestsPerResume).toBe(3);
  });

  it("a digest after the burst makes the next stall a gap's, whatever the windows did meanwhile", () => {
    const watch = new StallWatch(500, 3, 1500);
    watch.onStall();
    expect(resumeThenStall(watch, 1000)).toBeNaN();
    expect(resumeThenStall(watch, 3000, 3100, 3600)).toBeNaN();
    // The count starts again: one bounce is not enough.
    expect(resumeThenStall(watch, 5000)).toBeNaN();
    expect(resumeThenStall(watch, 7000)).toBe(2000);
  });

  it("asks for digests only from a stall until one comes after the burst", () => {
    const watch = new StallWatch(500, 3, 1500);
    expect(watch.watching).toBe(false); // telemetry flowing from the start
    watch.onStall();
    expect(watch.watching).toBe(true);
    digests(watch, 1000);
    watch.onResumed(1000);
    digests(watch, 1200);
    expect(watch.watching).toBe(true);
    digests(watch, 1600);
    expect(watch.watching).toBe(false);
  });

  it("a stall that no window ended (a reset or rollback resumed the cycle) is no bounce", () => {
    const watch = new StallWatch(500, 3, 1500);
    watch.onStall();
    expect(resumeThenStall(watch, 1000)).toBeNaN();
    expect(watch.onStall()).toBeNaN();
    expect(resumeThenStall(watch, 5000)).toBeNaN();
    expect(resumeThenStall(watch, 7000)).toBe(2000);
  });
});
