/**
 * The examples are meant to be copied into an app, so they may import arqon only through its
 * public entry points (the package's "exports"), never a file of the repository outside examples/.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLES = join(ROOT, "examples");
const exportsMap = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: object })
  .exports;
const PUBLIC = new Set(
  Object.keys(exportsMap).map((key) => (key === "." ? "arqon" : `arqon/${key.slice(2)}`)),
);

const sources = readdirSync(EXAMPLES, { recursive: true, encoding: "utf8" })
  .filter(
    (f) => /\.(ts|tsx)$/.test(f) && !f.split("/").some((part) => part === "node_modules" || part === "dist"),
  )
  .map((f) => join(EXAMPLES, f));

/** Every module specifier of a file: static and dynamic imports, and re-exports. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)];
  return found.map((m) => m[1]!);
}

describe("example imports", () => {
  it("finds the examples and their arqon imports", () => {
    expect(sources.length).toBeGreaterThanOrEqual(6);
    const arqonImports = sources.flatMap(specifiers).filter((s) => s === "arqon" || s.startsWith("arqon/"));
    expect(arqonImports.length).toBeGreaterThanOrEqual(6);
  });

  it.each(sources.map((file) => [relative(ROOT, file), file]))(
    "%s imports only arqon entry points",
    (_, file) => {
      for (const specifier of specifiers(file)) {
        if (specifier.startsWith(".")) {
          const target = resolve(dirname(file), specifier);
          const inside = relative(EXAMPLES, target);
          expect(inside.startsWith(".."), `${specifier} reaches outside examples/`).toBe(false);
        } else if (specifier === "arqon" || specifier.startsWith("arqon/")) {
          expect(PUBLIC, `${specifier} is not in package.json "exports"`).toContain(specifier);
        }
      }
    },
  );
});
