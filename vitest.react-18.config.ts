import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The React hook tests again, against React 18 (the oldest React the `react` peer range takes),
// installed apart in test/react-18 so that the project's own React 19 stays as it is:
// `npm ci --prefix test/react-18` first, then `npm run test:react-18`. CI runs both.
const react18 = (path: string) =>
  fileURLToPath(new URL(`./test/react-18/node_modules/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    tsconfigPaths: true,
    alias: [
      { find: /^react$/, replacement: react18("react/index.js") },
      { find: /^react\/jsx-runtime$/, replacement: react18("react/jsx-runtime.js") },
      { find: /^react-dom$/, replacement: react18("react-dom/index.js") },
      { find: /^react-dom\/client$/, replacement: react18("react-dom/client.js") },
      { find: /^react-dom\/server$/, replacement: react18("react-dom/server.node.js") },
    ],
  },
  test: {
    // Mounted with react-dom or called through React's dispatcher; the browser test uses Vite's
    // build of the example app, with the project's React.
    include: ["test/react-*.test.ts"],
    setupFiles: ["test/setup.ts", "test/support/expect-react-18.ts"],
    testTimeout: 30_000,
    maxWorkers: 2,
  },
});
