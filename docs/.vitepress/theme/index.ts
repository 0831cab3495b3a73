import type { Theme } from "vitepress";
import DefaultTheme from "vitepress/theme";
import MermaidDiagram from "./MermaidDiagram.vue";
import "./custom.css";

/** The default theme plus the component that renders ```mermaid fences in the browser. */
export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component("MermaidDiagram", MermaidDiagram);
  },
} satisfies Theme;
