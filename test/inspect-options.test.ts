import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createJsonlInspector, stringifySafe, toJsonSafe } from "../src/inspect/index.js";
import { createStatelyInspector } from "../src/inspect/stately.js";

/** Not a whole number ≥ 0 nor Infinity, each with how the message shows it. */
const notWhole: [unknown, string][] = [
  [Number.NaN, "NaN"],
  [-1, "-1"],
  [1.5, "1.5"],
  [Number.NEGATIVE_INFINITY, "-Infinity"],
  ["5", '"5"'],
  [5n, "5n"],
  [Object.create(null), "an object"],
];

describe("toJsonSafe options", () => {
  it("refuses a maxDepth or maxArrayLength that is not a whole number ≥ 0, naming it and its value", () => {
    for (const option of ["maxDepth", "maxArrayLength"]) {
      for (const [bad, shown] of notWhole) {
        const options = { [option]: bad } as never;
        const message = `toJsonSafe: ${option} must be a whole number ≥ 0 or Infinity, got ${shown}`;
        expect(() => toJsonSafe({ a: [1, 2] }, options)).toThrow(new RangeError(message));
        expect(() => stringifySafe({ a: [1, 2] }, options)).toThrow(RangeError);
      }
    }
  });

  it("takes Infinity: no limit", () => {
    const deep = { a: { b: { c: [1, 2, 3] } } };
    expect(
      toJsonSafe(deep, { maxDepth: Number.POSITIVE_INFINITY, maxArrayLength: Number.POSITIVE_INFINITY }),
    ).toEqual(deep);
  });

  it("takes 0: every object and array is summarised", () => {
    expect(toJsonSafe({ a: 1 }, { maxDepth: 0 })).toBe("[MaxDepth]");
    expect(toJsonSafe(7, { maxDepth: 0 })).toBe(7);
    expect(toJsonSafe([1, 2], { maxArrayLength: 0 })).toEqual(["[… 2 more]"]);
  });
});

describe("toJsonSafe of a Map", () => {
  const map = new Map<string, unknown>([
    ["retries", 3],
    ["timeoutMs", 200],
  ]);

  it("applies maxArrayLength to the number of entries, never inside an entry", () => {
    expect(toJsonSafe(map, { maxArrayLength: 1 })).toEqual([["retries", 3], "[… 1 more]"]);
    expect(
      toJsonSafe(
        new Map([
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ]),
        { maxArrayLength: 1 },
      ),
    ).toEqual([
      [
        [1, "[… 2 more]"],
        [4, "[… 2 more]"],
      ],
    ]);
  });

  it("counts no nesting level for an entry: its key and value are as deep as an object's members", () => {
    expect(toJsonSafe({ m: map }, { maxDepth: 2 })).toEqual({
      m: [
        ["retries", 3],
        ["timeoutMs", 200],
      ],
    });
    expect(toJsonSafe({ m: new Map([["k", { deep: 1 }]]) }, { maxDepth: 2 })).toEqual({
      m: [["k", "[MaxDepth]"]],
    });
  });
});

describe("createJsonlInspector options", () => {
  it("refuses bad limits when created, before opening the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      expect(() => createJsonlInspector(path, { maxArrayLength: Number.NaN })).toThrow(
        new RangeError(
          "createJsonlInspector: maxArrayLength must be a whole number ≥ 0 or Infinity, got NaN",
        ),
      );
      expect(() => createJsonlInspector(path, { maxDepth: -3 })).toThrow(
        new RangeError("createJsonlInspector: maxDepth must be a whole number ≥ 0 or Infinity, got -3"),
      );
      expect(() => createJsonlInspector({ write: () => {} }, { maxArrayLength: 2.5 })).toThrow(
        /maxArrayLength must be a whole number ≥ 0 or Infinity, got 2\.5/,
      );
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a target that is no path nor writable, and a misspelt option, naming them", () => {
    // 42 wrote nothing and said nothing; a misspelt limit ran without one.
    expect(() => createJsonlInspector(42 as never)).toThrow(
      new RangeError(
        "createJsonlInspector: target must be a file path or a writable (with write(string)), got 42",
      ),
    );
    expect(() => createJsonlInspector({ write: () => {} }, { maxdepth: 3 } as never)).toThrow(
      new RangeError(
        'createJsonlInspector: unknown option "maxdepth" (did you mean maxDepth? known: include, maxDepth, maxArrayLength)',
      ),
    );
  });
});

/** A WebSocket that never connects (the sink uses the platform's when there is one). */
class IdleSocket {
  readyState = 0;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
}

describe("createStatelyInspector options", () => {
  beforeEach(() => {
    vi.stubGlobal("WebSocket", IdleSocket);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("refuses a maxDeferredEvents that is not a whole number ≥ 0 or Infinity", async () => {
    for (const [bad, shown] of notWhole) {
      await expect(createStatelyInspector({ maxDeferredEvents: bad as number })).rejects.toThrow(
        new RangeError(
          `createStatelyInspector: maxDeferredEvents must be a whole number ≥ 0 or Infinity, got ${shown}`,
        ),
      );
    }
  });

  it("refuses a serializationDepthLimit that is not a whole number ≥ 1 or Infinity", async () => {
    // 0 too: @statelyai/inspect's serialiser refuses it, naming none of arqon's options.
    for (const [bad, shown] of [...notWhole, [0, "0"]] as const) {
      await expect(createStatelyInspector({ serializationDepthLimit: bad as number })).rejects.toThrow(
        new RangeError(
          `createStatelyInspector: serializationDepthLimit must be a whole number ≥ 1 or Infinity, got ${shown}`,
        ),
      );
    }
  });

  it("refuses a reconnectMs that would reconnect in a busy loop", async () => {
    // setTimeout runs a delay beyond 2^31 - 1 ms after 1 ms.
    for (const bad of [0, -1, Number.NaN, 9, Number.POSITIVE_INFINITY, 2 ** 31, "1000"]) {
      const shown = typeof bad === "string" ? JSON.stringify(bad) : String(bad);
      await expect(createStatelyInspector({ reconnectMs: bad as number })).rejects.toThrow(
        new RangeError(
          `createStatelyInspector: reconnectMs must be a number of ms from 10 to 2147483647, got ${shown}`,
        ),
      );
    }
  });

  it("refuses a misspelt option, or one of the wrong kind, before connecting anywhere", async () => {
    const cases: [object, string][] = [
      [
        { port: 9999 },
        'unknown option "port" (known: url, allowRemote, maxDeferredEvents, reconnectMs, serializationDepthLimit, sanitizeContext, sanitizeEvent)',
      ],
      [
        { ur: "ws://127.0.0.1:9999" },
        'unknown option "ur" (did you mean url? known: url, allowRemote, maxDeferredEvents, reconnectMs, serializationDepthLimit, sanitizeContext, sanitizeEvent)',
      ],
      [{ url: 8080 }, "url must be a ws:// or wss:// address, got 8080"],
      // Truthy: it sent the inspection data to the remote address.
      [{ url: "ws://10.0.0.1:8080", allowRemote: "no" }, 'allowRemote must be true or false, got "no"'],
      [{ sanitizeContext: "x" }, 'sanitizeContext must be a function, got "x"'],
      [{ sanitizeEvent: {} }, "sanitizeEvent must be a function, got an object"],
    ];
    const opened: string[] = [];
    vi.stubGlobal(
      "WebSocket",
      class extends IdleSocket {
        constructor(url: string) {
          super();
          opened.push(url);
        }
      },
    );
    for (const [options, message] of cases)
      await expect(createStatelyInspector(options as never)).rejects.toThrow(
        new RangeError(`createStatelyInspector: ${message}`),
      );
    expect(opened).toEqual([]);
  });

  it("takes the smallest and largest limits allowed", async () => {
    const stately = await createStatelyInspector({ maxDeferredEvents: 0, reconnectMs: 10 });
    expect(stately.connected).toBe(false); // created, waiting for the idle relay
    stately.close();
    const largest = await createStatelyInspector({
      maxDeferredEvents: Number.POSITIVE_INFINITY,
      reconnectMs: 2 ** 31 - 1,
      serializationDepthLimit: Number.POSITIVE_INFINITY,
    });
    expect(largest.connected).toBe(false);
    largest.close();
    const shallowest = await createStatelyInspector({ serializationDepthLimit: 1 });
    expect(shallowest.connected).toBe(false);
    shallowest.close();
  });
});
