import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
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

describe("the chart files in an app bundled into one CommonJS file", () => {
  it("are found in node_modules/uplot beside the bundle, run from elsewhere, and named when missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-bundle-"));
    try {
      const entry = join(dir, "app.ts");
      const source = fileURLToPath(new URL("../src/dashboard/vendor-assets.ts", import.meta.url));
      writeFileSync(
        entry,
        `import { vendorAssets } from ${JSON.stringify(source)};\n` +
          "vendorAssets().then((a) => console.log('served', Object.keys(a).length), (e) => console.log(e.message));\n",
      );
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        format: "cjs",
        outfile: join(dir, "app.cjs"),
        logLevel: "silent",
      });
      const run = () =>
        spawnSync(process.execPath, [join(dir, "app.cjs")], {
          cwd: tmpdir(),
          encoding: "utf8",
        }).stdout.trim();
      expect(run()).toMatch(/^the dashboard cannot find the `uplot` package.*mark it external/);
      cpSync(
        dirname(createRequire(import.meta.url).resolve("uplot/package.json")),
        join(dir, "node_modules", "uplot"),
        {
          recursive: true,
        },
      );
      expect(run()).toBe("served 2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
