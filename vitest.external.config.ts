import { configDefaults, defineConfig } from "vitest/config";
import { EXTERNAL_TOOLS, isExecutable } from "./test/support/external-tools.js";
import base from "./vitest.config.js";

// Only the test files that start a program npm does not install (chromium, redis-server,
// promtool), each of which must be present: `npm run test:external`. CI runs them this way beside
// `npm test` on a fresh clone without the programs, so every test file runs once.
const missing = EXTERNAL_TOOLS.filter((tool) => !isExecutable(tool.path));
if (missing.length > 0) {
  const lines = missing.map(
    (tool) => `${tool.name} (${tool.path}): apt-get install ${tool.debianPackage}, or set ${tool.env}`,
  );
  throw new Error(`npm run test:external needs every program its tests start; missing:\n${lines.join("\n")}`);
}

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: EXTERNAL_TOOLS.flatMap((tool) => tool.tests),
    exclude: configDefaults.exclude,
  },
});
