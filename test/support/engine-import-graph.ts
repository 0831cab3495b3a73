import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * Module specifiers of a TypeScript source: static `import … from "…"` and `export … from "…"`
 * (type-only ones included: a type import still couples the modules), side-effect `import "…"`,
 * and dynamic `import("…")`.
 *
 * @remarks
 * A textual scan, not a parser: it may also pick up an import written inside a comment or a
 * string, which can only add edges. Over-approximating is the safe direction for a test that
 * asserts some module is NOT reachable.
 */
export function importSpecifiers(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  const found: string[] = [];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/**
 * Resolves a relative specifier to the TypeScript file it names (`./x.js` → `./x.ts`), or
 * undefined for a package import.
 *
 * @throws Error when a relative specifier names no file (so a typo cannot hide an edge).
 */
export function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [
    base.replace(/\.js$/, ".ts"),
    base.replace(/\.mjs$/, ".mts"),
    base,
    `${base}.ts`,
    join(base, "index.ts"),
  ];
  const file = candidates.find((candidate) => existsSync(candidate) && !isDirectory(candidate));
  if (file === undefined) throw new Error(`${fromFile}: cannot resolve "${specifier}"`);
  return file;
}

function isDirectory(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every file reachable from `roots` through relative imports, each with the chain of files that
 * leads to it from a root (for a readable failure).
 */
export function reachableFiles(roots: readonly string[]): Map<string, readonly string[]> {
  const paths = new Map<string, readonly string[]>();
  const queue: string[] = [];
  for (const root of roots) {
    const file = resolve(root);
    if (!paths.has(file)) {
      paths.set(file, [file]);
      queue.push(file);
    }
  }
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const specifier of importSpecifiers(readFileSync(file, "utf8"))) {
      const target = resolveSpecifier(file, specifier);
      if (target !== undefined && !paths.has(target)) {
        paths.set(target, [...paths.get(file)!, target]);
        queue.push(target);
      }
    }
  }
  return paths;
}

/** The `.ts` files directly inside a directory. */
export function typeScriptFilesIn(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(directory, name));
}

/** A chain of files, relative to `root`, joined with arrows. */
export function describeChain(chain: readonly string[], root: string): string {
  return chain.map((file) => relative(root, file)).join(" → ");
}
