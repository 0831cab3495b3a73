import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LiveConfig } from "../src/hotpath/live-config.js";
import { readShared } from "../src/hotpath/shared-live-config.js";

describe("LiveConfig", () => {
  it("starts at generation 0 with a copy of the initial values and no baseline", () => {
    const initial = [1, 2, 3];
    const live = new LiveConfig(initial);
    initial[0] = 99;
    expect(live.size).toBe(3);
    expect(live.generation).toBe(0);
    expect([...live.values]).toEqual([1, 2, 3]);
    expect(live.hasBaseline).toBe(false);
    expect(live.baselineGeneration).toBe(-1);
    expect(live.handle).toBeUndefined();
  });

  it("copies each write and numbers the generations 1, 2, …", () => {
    const live = new LiveConfig([0.5, 0.5]);
    const next = new Float64Array([0.6, 0.4]);
    expect(live.write(next)).toBe(1);
    next[0] = 7;
    expect([...live.values]).toEqual([0.6, 0.4]);
    expect(live.write(new Float64Array([0.7, 0.3]))).toBe(2);
    expect(live.generation).toBe(2);
    expect([...live.values]).toEqual([0.7, 0.3]);
  });

  it("keeps a mirror for readers that every write and rollback rewrites; writing it changes nothing live", () => {
    const live = new LiveConfig([0.5, 0.5]);
    expect(live.mirror).not.toBe(live.values);
    expect([...live.mirror]).toEqual([0.5, 0.5]);
    live.setBaseline();
    live.mirror[0] = 1e9;
    expect([...live.values]).toEqual([0.5, 0.5]);
    expect(live.generation).toBe(0);
    live.write(new Float64Array([0.6, 0.4]));
    expect([...live.mirror]).toEqual([0.6, 0.4]);
    live.mirror[1] = -1;
    live.restoreBaseline();
    expect([...live.mirror]).toEqual([0.5, 0.5]);
  });

  it.each([
    ["local", false],
    ["shared", true],
  ])("commits a target staged in the mirror, or puts the live values back (%s)", (_, shared) => {
    // 12 values: above the size from which copies are bulk `set`s, as well as the loop below it.
    for (const size of [3, 12]) {
      const live = new LiveConfig(new Float64Array(size).fill(1), { shared });
      live.mirror.fill(2);
      live.restoreMirror();
      expect([...live.mirror]).toEqual(new Array(size).fill(1));
      expect(live.generation).toBe(0);
      live.mirror.fill(3);
      expect(live.commitMirror()).toBe(1);
      expect([...live.values]).toEqual(new Array(size).fill(3));
      expect([...live.mirror]).toEqual(new Array(size).fill(3));
      if (shared) {
        const out = new Float64Array(size);
        expect(readShared(live.handle!, out)).toBe(1);
        expect([...out]).toEqual(new Array(size).fill(3));
      }
    }
  });

  it("refuses a vector of the wrong length without changing anything", () => {
    const live = new LiveConfig([1, 2]);
    expect(live.write(new Float64Array([5]))).toBe(-1);
    expect(live.write(new Float64Array([5, 6, 7]))).toBe(-1);
    expect(live.generation).toBe(0);
    expect([...live.values]).toEqual([1, 2]);
  });

  it("restores the baseline as a new generation, never the baseline's own", () => {
    const live = new LiveConfig([0.5]);
    live.setBaseline();
    expect(live.hasBaseline).toBe(true);
    expect(live.baselineGeneration).toBe(0);
    live.write(new Float64Array([0.9]));
    expect(live.restoreBaseline()).toBe(2);
    expect([...live.values]).toEqual([0.5]);
    expect(live.generation).toBe(2);
    // The baseline stays set, so a second rollback is another new generation.
    live.write(new Float64Array([0.1]));
    expect(live.restoreBaseline()).toBe(4);
    expect([...live.values]).toEqual([0.5]);
  });

  it("reports no rollback without a baseline", () => {
    const live = new LiveConfig([0.5]);
    expect(live.restoreBaseline()).toBe(-1);
    expect(live.generation).toBe(0);
  });

  it("moves the baseline when it is set again, and keeps it apart from later writes", () => {
    const live = new LiveConfig([1, 1]);
    live.setBaseline();
    live.write(new Float64Array([2, 2]));
    live.setBaseline();
    expect(live.baselineGeneration).toBe(1);
    live.write(new Float64Array([3, 3]));
    expect([...live.baseline]).toEqual([2, 2]);
    live.restoreBaseline();
    expect([...live.values]).toEqual([2, 2]);
  });

  it("bumps the generation exactly once per accepted write (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 4 }), { maxLength: 30 }),
        (vectors) => {
          const live = new LiveConfig([0, 0, 0]);
          let accepted = 0;
          let last = [0, 0, 0];
          for (const vector of vectors) {
            const generation = live.write(Float64Array.from(vector));
            if (vector.length === 3) {
              accepted++;
              last = vector;
              expect(generation).toBe(accepted);
            } else {
              expect(generation).toBe(-1);
            }
          }
          expect(live.generation).toBe(accepted);
          expect([...live.values]).toEqual(last.map((x) => (Object.is(x, -0) ? -0 : x)));
        },
      ),
    );
  });
});
