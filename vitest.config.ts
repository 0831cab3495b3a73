import { defineConfig } from "vitest/config";

export default defineConfig({
  // Examples import "arqon", "arqon/testing", …: tsconfig.json maps them to the sources.
  resolve: { tsconfigPaths: true },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 30_000,
    // Property tests and child-process CLI tests are CPU-bound; two workers match the 2-core CI machine.
    maxWorkers: 2,
  },
});
