import { describe, expect, it } from "vitest";
import { StallWatch } from "../src/engine/stall-watch.js";

// The rule behind `spsa.stalled`'s `shortWindows` (test/engine-short-windows.test.ts runs it in an
// engine): a stall after a resume is a bounce when fewer than an iteration's windows (3) filled
// and no iteration completed in between; the second bounce in a row names short windows.

/** A stall ended by a window at `at`, then `filled` windows and `completed` iterations, then a stall. */
function bounce(watch: StallWatch, at: number, filled: number, completed: number): number {
  watch.onWindowWithDigests(at, true);
  for (let i = 0; i < filled; i++) watch.onWindowWithDigests(at + 1 + i, false);
  for (let i = 0; i < completed; i++) watch.onIterationCompleted();
  return watch.onStall();
}

describe("StallWatch", () => {
  it("names short windows from the second bounce in a row, with the resumes' spacing", () => {
    const watch = new StallWatch();
    expect(watch.onStall()).toBeNaN(); // the first stall: no resume before it
    expect(bounce(watch, 1000, 0, 0)).toBeNaN();
    expect(bounce(watch, 3000, 0, 0)).toBe(2000);
    expect(bounce(watch, 5500, 0, 0)).toBe(2500);
  });

  it("a burst's two windows after the resume, with no iteration completed, still make a bounce", () => {
    const watch = new StallWatch();
    watch.onStall();
    expect(bounce(watch, 1000, 2, 0)).toBeNaN();
    expect(bounce(watch, 3000, 2, 0)).toBe(2000);
  });

  it("a completed iteration after the resume makes the next stall a gap's", () => {
    const watch = new StallWatch();
    watch.onStall();
    expect(bounce(watch, 1000, 0, 0)).toBeNaN();
    expect(bounce(watch, 3000, 2, 1)).toBeNaN();
    // The count starts again: one bounce is not enough.
    expect(bounce(watch, 5000, 0, 0)).toBeNaN();
    expect(bounce(watch, 7000, 0, 0)).toBe(2000);
  });

  it("an iteration's worth of windows after the resume, with none completed (a paused cycle), is no bounce", () => {
    const watch = new StallWatch();
    watch.onStall();
    expect(bounce(watch, 1000, 3, 0)).toBeNaN();
    expect(bounce(watch, 3000, 5, 0)).toBeNaN();
    expect(bounce(watch, 5000, 3, 0)).toBeNaN();
  });

  it("a stall that no window ended (a reset or rollback resumed the cycle) is no bounce", () => {
    const watch = new StallWatch();
    watch.onStall();
    expect(bounce(watch, 1000, 0, 0)).toBeNaN();
    expect(watch.onStall()).toBeNaN();
    expect(bounce(watch, 5000, 0, 0)).toBeNaN();
    expect(bounce(watch, 7000, 0, 0)).toBe(2000);
  });
});
