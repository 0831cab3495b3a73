import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type DefaultTheme, defineConfig } from "vitepress";

/** The API sidebar TypeDoc writes next to the generated pages (absent until `npx typedoc` ran). */
function apiSidebar(): DefaultTheme.SidebarItem[] {
  const file = fileURLToPath(new URL("../api/typedoc-sidebar.json", import.meta.url));
  if (!existsSync(file)) return [{ text: "Run `npx typedoc` to generate the API reference", link: "/" }];
  return JSON.parse(readFileSync(file, "utf8")) as DefaultTheme.SidebarItem[];
}

const guide: DefaultTheme.SidebarItem[] = [
  {
    text: "Getting started",
    items: [
      { text: "Solver: minimise a function", link: "/guide/solver" },
      { text: "Coming from Optuna", link: "/guide/from-optuna" },
      { text: "Engine: tune a live system", link: "/guide/engine" },
      { text: "React", link: "/guide/react" },
      { text: "Decision log and replay", link: "/guide/decision-log" },
      { text: "Dashboard", link: "/guide/dashboard" },
      { text: "Command line", link: "/guide/cli" },
      { text: "Fleet over Redis Streams", link: "/guide/fleet" },
      { text: "Prometheus metrics", link: "/guide/metrics" },
      { text: "Shared studies over Redis", link: "/guide/shared-studies" },
      { text: "Effect", link: "/guide/effect" },
    ],
  },
  {
    text: "Concepts",
    items: [
      { text: "Tiers", link: "/concepts/tiers" },
      { text: "Evaluation windows", link: "/concepts/evaluation-windows" },
      { text: "SPSA gains and calibration", link: "/concepts/spsa-gains" },
      { text: "SafeMode", link: "/concepts/safe-mode" },
      { text: "The safety monitor", link: "/concepts/safety-monitor" },
      { text: "Choosing guardrails", link: "/concepts/guardrails" },
      { text: "Solver rules", link: "/concepts/solver-rules" },
    ],
  },
  {
    text: "Recipes",
    items: [
      { text: "Overview", link: "/recipes/" },
      { text: "Timeouts", link: "/recipes/timeouts" },
      { text: "Batch sizes", link: "/recipes/batch-sizes" },
      { text: "Pool sizes", link: "/recipes/pool-sizes" },
      { text: "Cache TTLs", link: "/recipes/cache-ttls" },
    ],
  },
  {
    text: "Reference",
    items: [
      { text: "Statecharts", link: "/machines/" },
      { text: "Benchmarks", link: "/benchmarks" },
      { text: "API", link: "/api/" },
    ],
  },
];

const machines: DefaultTheme.SidebarItem[] = [
  {
    text: "Statecharts",
    items: [
      { text: "Overview", link: "/machines/" },
      { text: "Solver lifecycle", link: "/machines/solver" },
      { text: "SPSA cycle", link: "/machines/spsa" },
      { text: "Engine root", link: "/machines/engine" },
      { text: "SafeMode", link: "/machines/safe-mode" },
      { text: "Circuit breaker", link: "/machines/circuit-breaker" },
    ],
  },
];

export default defineConfig({
  title: "arqon",
  description: "Tune the knobs of live systems from their telemetry, fast and safely.",
  lang: "en",
  cleanUrls: true,
  // Included into pages, not pages themselves: code samples and generated tables (`_*.md`).
  srcExclude: ["snippets/**", "**/_*.md", "**/README.md"],
  // Dead links fail the build.
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/solver" },
      { text: "Recipes", link: "/recipes/" },
      { text: "Statecharts", link: "/machines/" },
      { text: "Benchmarks", link: "/benchmarks" },
      { text: "API", link: "/api/" },
    ],
    sidebar: {
      "/guide/": guide,
      "/concepts/": guide,
      "/recipes/": guide,
      "/benchmarks": guide,
      "/machines/": machines,
      "/api/": [{ text: "API reference", link: "/api/", items: apiSidebar() }],
    },
    outline: [2, 3],
    search: { provider: "local" },
  },
  vite: {
    // Mermaid (lazy-loaded by the diagram pages only) ships chunks well above Vite's 500 kB hint.
    build: { chunkSizeWarningLimit: 3000 },
  },
  markdown: {
    config(md) {
      // ```mermaid fences become a client-side component (mermaid is bundled; nothing is fetched).
      const fence = md.renderer.rules.fence!;
      md.renderer.rules.fence = (tokens, idx, options, env, self) => {
        const token = tokens[idx]!;
        if (token.info.trim() === "mermaid") {
          return `<MermaidDiagram code="${encodeURIComponent(token.content)}" />\n`;
        }
        return fence(tokens, idx, options, env, self);
      };
    },
  },
});
