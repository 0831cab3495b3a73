import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Asset } from "./http-basics.js";

/** The uPlot files the page loads, by route, and where they live inside the `uplot` package. */
const UPLOT_FILES = {
  "/vendor/uPlot.iife.min.js": { file: "dist/uPlot.iife.min.js", type: "text/javascript; charset=utf-8" },
  "/vendor/uPlot.min.css": { file: "dist/uPlot.min.css", type: "text/css; charset=utf-8" },
} as const;

let loaded: Promise<Record<string, Asset>> | undefined;

/**
 * The charting library's files, read once from the installed `uplot` package (a dependency), so
 * the page never loads anything from the internet.
 */
export function vendorAssets(): Promise<Record<string, Asset>> {
  loaded ??= (async () => {
    const root = dirname(createRequire(import.meta.url).resolve("uplot/package.json"));
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
