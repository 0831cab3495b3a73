/**
 * Copies each docs sample (docs/snippets/…) and each generated table (docs/concepts/_*.md) into
 * the pages that show them, so that a page reads whole wherever it is opened: on the docs site,
 * on GitHub, in an editor, in the npm package. The files stay the source: the tests type-check and
 * run the samples, and scripts/reference-tables.ts writes the tables; a test runs `--check` and
 * fails when a page's copy differs from its file.
 *
 *   npx tsx scripts/docs-snippets.ts           # rewrite the copies in docs/**.md
 *   npx tsx scripts/docs-snippets.ts --check   # exit 1 when a copy is out of date
 *
 * In a page, a copy sits between `<!-- snippet: snippets/x.ts -->` (or `<!-- include: ./_x.md -->`)
 * and `<!-- /snippet -->` (`<!-- /include -->`). A line `<<< @/snippets/x.ts` (VitePress's
 * include, which only the site renders) or `<!--@include: ./_x.md-->` becomes such a copy.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT, syncGeneratedFiles } from "./generated-files.js";

const DOCS = join(REPO_ROOT, "docs");

/** A sample's copy opens with this comment (the path is relative to docs/). */
export const SNIPPET_OPEN = /^<!-- snippet: (\S+) -->$/;
const SNIPPET_CLOSE = "<!-- /snippet -->";
/** A table's copy opens with this comment (the path is relative to the page). */
export const INCLUDE_OPEN = /^<!-- include: (\S+) -->$/;
const INCLUDE_CLOSE = "<!-- /include -->";
/** VitePress's own directives, turned into copies the first time. */
const VITEPRESS_SNIPPET = /^<<< @\/(snippets\/\S+)$/;
const VITEPRESS_INCLUDE = /^<!--@include: (\S+)-->$/;

/** The pages: every .md under docs/ but the samples, the generated tables and the site's build. */
export function docsPages(): string[] {
  return readdirSync(DOCS, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".md"))
    .filter(
      (file) =>
        !file.split("/").some((part) => part.startsWith(".") || part.startsWith("_") || part === "api"),
    )
    .filter((file) => !file.startsWith("snippets/"))
    .map((file) => join(DOCS, file));
}

/** A fenced block of `code`, with a fence longer than any run of backticks inside it. */
function fenced(code: string, language: string): string {
  const longest = Math.max(2, ...[...code.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}\n${code.trimEnd()}\n${fence}`;
}

/** The copy of the sample at `path` (relative to docs/). */
function snippetCopy(path: string): string[] {
  const code = readFileSync(join(DOCS, path), "utf8");
  const language = path.endsWith(".tsx") ? "tsx" : path.endsWith(".ts") ? "ts" : "";
  return [`<!-- snippet: ${path} -->`, fenced(code, language), SNIPPET_CLOSE];
}

/** The copy of the page part at `path` (relative to `page`). */
function includeCopy(page: string, path: string): string[] {
  const text = readFileSync(resolve(dirname(page), path), "utf8")
    // Its own "generated, do not edit" comment stays in its file.
    .replace(/^<!--[^\n]*-->\n+/, "")
    .trimEnd();
  return [`<!-- include: ${path} -->`, text, INCLUDE_CLOSE];
}

/** `page`'s text with every copy written afresh from its file. */
export function renderPage(page: string, text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `${relative(REPO_ROOT, page)}:${i + 1}`;
    const sample = SNIPPET_OPEN.exec(line) ?? VITEPRESS_SNIPPET.exec(line);
    const part = INCLUDE_OPEN.exec(line) ?? VITEPRESS_INCLUDE.exec(line);
    if (sample === null && part === null) {
      out.push(line);
      continue;
    }
    // An open comment spans to its close; a VitePress directive is one line.
    if (SNIPPET_OPEN.test(line) || INCLUDE_OPEN.test(line)) {
      const close = sample !== null ? SNIPPET_CLOSE : INCLUDE_CLOSE;
      const end = lines.indexOf(close, i + 1);
      if (end === -1) throw new Error(`${where}: ${line} has no ${close}`);
      i = end;
    }
    out.push(...(sample !== null ? snippetCopy(sample[1]!) : includeCopy(page, part![1]!)));
  }
  return out.join("\n");
}

/** Every page whose copies this script writes: path relative to the repository root → content. */
export function renderDocsPages(): Map<string, string> {
  const pages = new Map<string, string>();
  for (const page of docsPages()) {
    const text = readFileSync(page, "utf8");
    pages.set(relative(REPO_ROOT, page), renderPage(page, text));
  }
  return pages;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = syncGeneratedFiles(
    renderDocsPages(),
    process.argv.slice(2),
    "npx tsx scripts/docs-snippets.ts",
  );
}
