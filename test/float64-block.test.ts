import { describe, expect, it } from "vitest";
import { Float64Block } from "../src/runtime/float64-block.js";

describe("a Float64Block", () => {
  it("hands out zero-filled views of one buffer that do not overlap", () => {
    const block = new Float64Block(7);
    const a = block.take(3);
    const b = block.take(4);
    expect([a.length, b.length]).toEqual([3, 4]);
    expect(a.buffer).toBe(b.buffer);
    expect([...a, ...b]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    a.fill(1);
    b.set([2, 3, 4, 5]);
    expect([...a]).toEqual([1, 1, 1]);
    expect([...b]).toEqual([2, 3, 4, 5]);
  });

  it("refuses to hand out more than it holds: a miscount is found at once", () => {
    const block = new Float64Block(4);
    block.take(3);
    expect(() => block.take(2)).toThrow(new RangeError("Float64Block: 2 more doubles past its 4"));
    expect(block.take(1)).toHaveLength(1);
  });
});
