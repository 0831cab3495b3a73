import { describe, expect, it, vi } from "vitest";
import { vendorAssets } from "../src/dashboard/vendor-assets.js";

describe("the dashboard's chart files", () => {
  it("come from the installed uplot package", async () => {
    const assets = await vendorAssets();
    expect(Object.keys(assets).sort()).toEqual(["/vendor/uPlot.iife.min.js", "/vendor/uPlot.min.css"]);
    expect(assets["/vendor/uPlot.iife.min.js"]!.body.length).toBeGreaterThan(10_000);
  });

  it("say what to do when uplot is not on disk, as in an app bundled into one file", async () => {
    // A fresh copy of the module: it keeps the files of a successful load.
    vi.resetModules();
    const { vendorAssets: fresh } = await import("../src/dashboard/vendor-assets.js");
    const missing = (specifier: string): string => {
      throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: "MODULE_NOT_FOUND" });
    };
    await expect(fresh(missing)).rejects.toThrow(
      /cannot find the `uplot` package.*Cannot find module 'uplot\/package\.json'.*mark it external/,
    );
  });
});
