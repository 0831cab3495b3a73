import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MissingPeerError } from "../src/inspect/index.js";
import { importOptionalPeer } from "../src/inspect/optional-peer.js";

/** An error shaped like the one Node throws when a module cannot be resolved. */
function notFound(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("importOptionalPeer: only the package itself missing is a MissingPeerError", () => {
  // A project where "fake-peer" is installed but imports "not-installed-dep", which is not, and
  // "absent-peer" is not installed at all. Imported through a module in that project, so that
  // Node resolves the names from there and writes its own messages.
  let dir: string;
  let loader: { loadPeer: () => Promise<unknown>; loadAbsent: () => Promise<unknown> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "arqon-peer-"));
    const peer = join(dir, "node_modules", "fake-peer");
    mkdirSync(peer, { recursive: true });
    writeFileSync(
      join(peer, "package.json"),
      JSON.stringify({ name: "fake-peer", type: "module", exports: "./index.mjs" }),
    );
    writeFileSync(join(peer, "index.mjs"), 'import "not-installed-dep";\nexport const x = 1;\n');
    writeFileSync(
      join(dir, "loader.mjs"),
      'export const loadPeer = () => import("fake-peer");\nexport const loadAbsent = () => import("absent-peer");\n',
    );
    loader = await import(/* @vite-ignore */ pathToFileURL(join(dir, "loader.mjs")).href);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the package when it is not installed", async () => {
    const error = await importOptionalPeer("absent-peer", "someFeature", loader.loadAbsent).catch((e) => e);
    expect(error).toBeInstanceOf(MissingPeerError);
    expect((error as MissingPeerError).packageName).toBe("absent-peer");
  });

  it("rethrows, as it is, the failure of an installed package whose own import is missing", async () => {
    const error = await importOptionalPeer("fake-peer", "someFeature", loader.loadPeer).catch((e) => e);
    expect(error).not.toBeInstanceOf(MissingPeerError);
    expect((error as { code?: string }).code).toBe("ERR_MODULE_NOT_FOUND");
    expect((error as Error).message).toContain("'not-installed-dep'");
  });

  it("does not take a path or another package that merely contains the name for the package", async () => {
    for (const error of [
      notFound(
        "ERR_MODULE_NOT_FOUND",
        "Cannot find package 'bufferutil' imported from /app/node_modules/ws/lib/buffer-util.js",
      ),
      notFound(
        "ERR_MODULE_NOT_FOUND",
        "Cannot find module '/app/node_modules/ws/lib/websocket.js' imported from /app/node_modules/ws/index.js",
      ),
      notFound("MODULE_NOT_FOUND", "Cannot find module 'news'\nRequire stack:\n- /app/index.js"),
    ]) {
      await expect(importOptionalPeer("ws", "feature", () => Promise.reject(error))).rejects.toBe(error);
    }
  });

  it("recognises the package in Node's CommonJS message too", async () => {
    const error = notFound("MODULE_NOT_FOUND", "Cannot find module 'ws'\nRequire stack:\n- /app/index.js");
    const thrown = await importOptionalPeer("ws", "feature", () => Promise.reject(error)).catch((e) => e);
    expect(thrown).toBeInstanceOf(MissingPeerError);
    expect((thrown as Error).cause).toBe(error);
  });
});
