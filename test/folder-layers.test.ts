import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importSpecifiers, resolveSpecifier } from "./support/engine-import-graph.js";

// src/'s folders are layers: a folder may import another only if that one never imports it back,
// directly or through others. A cycle means two folders are one concept split in two (the audit
// vocabulary once lived in hotpath/, the log's record format in replay/).

const SRC = fileURLToPath(new URL("../src", import.meta.url));

/** Every .ts file under `directory`, recursively. */
function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The top folder of a file under src/ ("." for a file directly in src/). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : ".";
}

/** Folder → folders it imports (type imports included), with one file edge as the witness. */
function folderGraph(files: readonly string[]): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of files) {
    const from = folderOf(file);
    if (from === ".") continue; // the entry points re-export everything; they are not a layer
    for (const specifier of importSpecifiers(readFileSync(file, "utf8"))) {
      const target = resolveSpecifier(file, specifier);
      if (target === undefined || !target.startsWith(SRC + sep)) continue;
      const to = folderOf(target);
      if (to === from || to === ".") continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${relative(SRC, file)} → ${relative(SRC, target)}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** One cycle of folders with the file edge behind each step, or undefined if there is none. */
function findCycle(graph: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (folder: string): string[] | undefined => {
    state.set(folder, "open");
    path.push(folder);
    for (const next of graph.get(folder)?.keys() ?? []) {
      if (state.get(next) === "open") {
        const loop = [...path.slice(path.indexOf(next)), next];
        return loop.slice(1).map((to, i) => graph.get(loop[i]!)!.get(to)!);
      }
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(folder, "done");
    return undefined;
  };
  for (const folder of graph.keys()) {
    if (state.get(folder) !== undefined) continue;
    const found = visit(folder);
    if (found) return found;
  }
  return undefined;
}

describe("src folders form layers", () => {
  it("no folder imports one that imports it back", () => {
    expect(findCycle(folderGraph(sourceFiles(SRC)))).toBeUndefined();
  });

  it("the walk sees the real edges (it is not vacuous)", () => {
    const graph = folderGraph(sourceFiles(SRC));
    expect(graph.get("engine")?.has("hotpath")).toBe(true);
    expect(graph.get("hotpath")?.has("audit")).toBe(true);
    expect(graph.get("replay")?.has("log")).toBe(true);
  });

  it("self-check: a two-folder loop is found, with the file edges that make it", () => {
    const graph = new Map([
      ["a", new Map([["b", "a/x.ts → b/y.ts"]])],
      ["b", new Map([["c", "b/y.ts → c/z.ts"]])],
      ["c", new Map([["a", "c/z.ts → a/x.ts"]])],
    ]);
    expect(findCycle(graph)).toEqual(["a/x.ts → b/y.ts", "b/y.ts → c/z.ts", "c/z.ts → a/x.ts"]);
    graph.get("c")!.delete("a");
    expect(findCycle(graph)).toBeUndefined();
  });
});
