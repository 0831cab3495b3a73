// @ts-check
/**
 * TypeDoc plugin: names each documented module by the specifier a user imports it with
 * (`arqon`, `arqon/react`, …) instead of its folder in this repository (`src`, `src/react`, …).
 */
import { Converter } from "typedoc";

/** Module name TypeDoc derives from the entry point's path → the public import specifier. */
const PUBLIC_NAMES = {
  src: "arqon",
  "src/react": "arqon/react",
  "src/inspect": "arqon/inspect",
  "src/inspect/stately": "arqon/inspect/stately",
  "src/node": "arqon/node",
  "src/testing": "arqon/testing",
  "src/redis": "arqon/redis",
  "src/metrics": "arqon/metrics",
  "src/study": "arqon/study",
  machines: "arqon/machines",
};

/**
 * Plugin entry point, called by TypeDoc.
 *
 * @param {import("typedoc").Application} app
 */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.children ?? []) {
      const name = /** @type {Record<string, string>} */ (PUBLIC_NAMES)[module.name];
      if (name !== undefined) module.name = name;
    }
  });
}
