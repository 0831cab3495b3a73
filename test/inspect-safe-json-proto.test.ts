import { describe, expect, it } from "vitest";
import { stringifySafe, toJsonSafe } from "../src/inspect/index.js";

describe("toJsonSafe with an own __proto__ key", () => {
  // What JSON.parse makes of a body such as an HTTP request's: "__proto__" is an own key there.
  const text = '{"type":"CONFIGURE","__proto__":{"role":"admin"},"user":"bob"}';

  it("keeps it as an own key and leaves the copy's prototype alone", () => {
    const safe = toJsonSafe(JSON.parse(text)) as Record<string, unknown>;
    expect(Object.keys(safe)).toEqual(["type", "__proto__", "user"]);
    expect(Object.getPrototypeOf(safe)).toBe(Object.prototype);
    expect(safe.role).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(safe, "__proto__")?.value).toEqual({ role: "admin" });
  });

  it("writes what JSON.stringify writes, nested too", () => {
    expect(stringifySafe(JSON.parse(text))).toBe(text);
    const nested = `{"event":${text},"list":[${text}]}`;
    expect(stringifySafe(JSON.parse(nested))).toBe(nested);
  });
});
