import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { float64At, int32At, uint16At, uint32At } from "../src/log/little-endian.js";

// The log's readers take numbers from frames byte by byte, without a DataView each time: they must
// read exactly what a DataView reads, at any offset, for any bytes.

describe("little-endian reads of a log's bytes", () => {
  it("read what a DataView reads, at any offset of any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(), (bytes, pick) => {
        const at = pick % (bytes.length - 7);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect(uint32At(bytes, at)).toBe(view.getUint32(at, true));
        expect(int32At(bytes, at)).toBe(view.getInt32(at, true));
        expect(uint16At(bytes, at)).toBe(view.getUint16(at, true));
        expect(Object.is(float64At(bytes, at), view.getFloat64(at, true))).toBe(true);
      }),
      { seed: 17, numRuns: 2_000 },
    );
  });

  it("reads the doubles a writer stored, −0, infinities and NaN included, from a view into a larger buffer", () => {
    const values = [
      0,
      -0,
      1.5,
      -(2 ** -1074),
      Number.MAX_VALUE,
      Infinity,
      -Infinity,
      Number.NaN,
      2 ** 53 + 2,
    ];
    const whole = new Uint8Array(3 + values.length * 8);
    const bytes = whole.subarray(3);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const [i, x] of values.entries()) view.setFloat64(i * 8, x, true);
    expect(values.map((_, i) => float64At(bytes, i * 8))).toEqual(values);
    expect(Object.is(float64At(bytes, 8), -0)).toBe(true);
  });
});
