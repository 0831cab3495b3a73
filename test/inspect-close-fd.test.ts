import fs, { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createJsonlInspector } from "../src/inspect/index.js";

/** Descriptors of this process open on `path` (read from /proc; 0 where there is none). */
function openDescriptors(path: string): number {
  if (process.platform !== "linux") return 0;
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

const event = {
  type: "@xstate.event",
  actorRef: { sessionId: "x:1" },
  event: { type: "E" },
  rootId: "x:1",
} as unknown as Parameters<ReturnType<typeof createJsonlInspector>["inspect"]>[0];

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createJsonlInspector close", () => {
  it("resolves only once the file's descriptor is closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      // The order in which fs.close calls back and close() resolves (the stream closes its fd
      // with fs.close after it finished, so a close() resolving on finish comes first).
      const order: string[] = [];
      const realClose = fs.close;
      vi.spyOn(fs, "close").mockImplementation(((fd: number, callback: (error: unknown) => void) =>
        realClose(fd, (error) => {
          order.push("fd closed");
          callback(error);
        })) as typeof fs.close);
      const jsonl = createJsonlInspector(path);
      jsonl.inspect(event);
      await jsonl.close();
      order.push("close resolved");
      expect(order).toEqual(["fd closed", "close resolved"]);
      expect(openDescriptors(path)).toBe(0);
      expect(jsonl.written).toBe(1);
      // A second close gets the same answer.
      await jsonl.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("still resolves when the file could not be opened", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const jsonl = createJsonlInspector(join(dir, "missing-dir", "inspect.jsonl"));
      jsonl.inspect(event);
      await jsonl.close();
      expect((jsonl.error as NodeJS.ErrnoException).code).toBe("ENOENT");
      // Closing after the stream already failed and closed resolves too.
      const late = createJsonlInspector(join(dir, "missing-dir", "late.jsonl"));
      late.inspect(event);
      await vi.waitFor(() => expect(late.error).toBeDefined());
      await late.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resolves when closed before any event was written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-inspect-"));
    try {
      const path = join(dir, "inspect.jsonl");
      const jsonl = createJsonlInspector(path);
      await jsonl.close();
      expect(openDescriptors(path)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
