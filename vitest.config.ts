import { configDefaults, defineConfig } from "vitest/config";
import {
  EXTERNAL_TOOLS,
  isCi,
  isExecutable,
  missingInCiMessage,
  notRunLine,
} from "./test/support/external-tools.js";

// Tests that start a program npm does not install (chromium, redis-server, promtool) run only
// where it is present. Outside CI a missing one leaves its files out with one line saying how to
// enable them; under CI=true it fails the run, so CI never passes on tests that did not run.
const notRun: string[] = [];
for (const tool of EXTERNAL_TOOLS) {
  if (isExecutable(tool.path)) continue;
  if (isCi()) throw new Error(missingInCiMessage(tool));
  console.warn(notRunLine(tool));
  notRun.push(...tool.tests);
}

export default defineConfig({
  // Examples import "arqon", "arqon/testing", …: tsconfig.json maps them to the sources.
  resolve: { tsconfigPaths: true },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, ...notRun],
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 30_000,
    // Hooks stop servers (redis-server, dashboards), which takes longer on a loaded machine.
    hookTimeout: 30_000,
    // Property tests and child-process CLI tests are CPU-bound; two workers match the 2-core CI machine.
    maxWorkers: 2,
  },
});
