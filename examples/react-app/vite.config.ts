/**
 * Vite config of the React example: `npx vite examples/react-app` (dev server) or
 * `npx vite build examples/react-app` (static build in examples/react-app/dist).
 */
import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const repositoryRoot = resolve(import.meta.dirname, "../..");

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs, so the build can be served from any folder.
  base: "./",
  plugins: [react()],
  // The app imports "arqon" and "arqon/react" as any app would; in this repository the root
  // tsconfig.json maps those names to src/ (outside the app's folder), so no build is needed first.
  resolve: { tsconfigPaths: true },
  server: { host: "127.0.0.1", fs: { allow: [repositoryRoot] } },
  preview: { host: "127.0.0.1" },
  // The bundle carries effect, xstate, rxjs and React, on purpose: past Vite's 500 kB warning, so
  // the warning is moved to 1 MB (the engine's share is in docs/benchmarks.md, Bundle size).
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
