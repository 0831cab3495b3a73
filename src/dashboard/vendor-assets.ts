import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage } from "../errors.js";
import type { Asset } from "./http-basics.js";

/** The uPlot files the page loads, by route, and where they live inside the `uplot` package. */
const UPLOT_FILES = {
  "/vendor/uPlot.iife.min.js": { file: "dist/uPlot.iife.min.js", type: "text/javascript; charset=utf-8" },
  "/vendor/uPlot.min.css": { file: "dist/uPlot.min.css", type: "text/css; charset=utf-8" },
} as const;

let loaded: Promise<Record<string, Asset>> | undefined;

/**
 * Resolves from this module, or, in an app bundled into CommonJS (where `import.meta.url` is
 * undefined), from the script node ran and then the working directory, so that a
 * `node_modules/uplot` beside the bundle, or where it runs, is found.
 */
function resolveHere(specifier: string): string {
  const here = (import.meta as { url?: string }).url;
  if (here !== undefined) return createRequire(here).resolve(specifier);
  const script = process.argv[1];
  if (script !== undefined) {
    try {
      return createRequire(pathToFileURL(script).href).resolve(specifier);
    } catch {
      // Not beside the script: the working directory.
    }
  }
  return createRequire(pathToFileURL(join(process.cwd(), "index.js")).href).resolve(specifier);
}

/**
 * The charting library's files, read once from the installed `uplot` package (a dependency), so
 * the page never loads anything from the internet.
 */
export function vendorAssets(
  resolve: (specifier: string) => string = resolveHere,
): Promise<Record<string, Asset>> {
  loaded ??= (async () => {
    let root: string;
    try {
      root = dirname(resolve("uplot/package.json"));
    } catch (error) {
      // Found when an app bundled into one file runs without its node_modules.
      throw new Error(
        "the dashboard cannot find the `uplot` package, whose chart files its page loads " +
          `(${errorMessage(error).split("\n")[0]}): an app bundled into one file must leave arqon out of the ` +
          "bundle (mark it external) or ship node_modules/uplot beside it",
        { cause: error },
      );
    }
    const assets: Record<string, Asset> = {};
    for (const [route, { file, type }] of Object.entries(UPLOT_FILES))
      assets[route] = { type, body: await readFile(join(root, file), "utf8") };
    return assets;
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}
