import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c, crc32cBits, crc32cBitsOfView } from "../src/log/crc32c.js";

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Bit-at-a-time reference, straight from the definition (reflected polynomial 0x82F63B78). */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe("crc32c", () => {
  it("gives the standard check value for 123456789", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
  });

  it("crc32cBits holds the same 32 bits as a signed integer, stored by setUint32 as the CRC", () => {
    const bits = crc32cBits(ascii("123456789"));
    expect(bits).toBe(0xe3069283 | 0);
    expect(bits).toBeLessThan(0);
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, bits, true);
    expect(view.getUint32(0, true)).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.nat(70), fc.nat(), (bytes, cut, previous) => {
        const at = Math.min(cut, bytes.length);
        expect(crc32cBits(bytes, at, bytes.length, previous)).toBe(
          crc32c(bytes, at, bytes.length, previous) | 0,
        );
        expect(crc32cBits(bytes) >>> 0).toBe(referenceCrc32c(bytes));
      }),
    );
  });

  it("matches the published iSCSI (RFC 3720 B.4) vectors", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("is 0 for no bytes and matches single-byte and short-string values", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(ascii("a"))).toBe(0xc1d04330);
    expect(crc32c(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x22620404);
  });

  it("equals the bit-at-a-time definition for any bytes and any slice", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
        expect(crc32c(bytes, start, end)).toBe(referenceCrc32c(bytes.subarray(start, end)));
      }),
    );
  });

  it("crc32cBitsOfView: the same bits, read through a DataView, for any slice", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect(crc32cBitsOfView(view, start, end) >>> 0).toBe(referenceCrc32c(bytes.subarray(start, end)));
      }),
    );
  });

  it("continues across chunks: crc(a ++ b) = crc(b, from crc(a))", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        const joined = new Uint8Array(a.length + b.length);
        joined.set(a);
        joined.set(b, a.length);
        expect(crc32c(b, 0, b.length, crc32c(a))).toBe(crc32c(joined));
      }),
    );
  });
});
