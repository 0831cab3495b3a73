import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The results page that the benchmarks keep up to date. */
export const BENCHMARKS_PAGE = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));

/** The marker pair around a named section, e.g. `<!-- B1:start -->` … `<!-- B1:end -->`. */
export function sectionMarkers(name: string): { start: string; end: string } {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RangeError(`bad section name ${JSON.stringify(name)}`);
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` };
}

/**
 * Returns `page` with the body between the markers of section `name` replaced by `body`.
 * Everything outside the markers is kept byte for byte; a missing section is appended at the end.
 */
export function replaceSection(page: string, name: string, body: string): string {
  const { start, end } = sectionMarkers(name);
  const block = `${start}\n${body.trim()}\n${end}`;
  const from = page.indexOf(start);
  if (from === -1) return `${page.trimEnd()}\n\n${block}\n`;
  const to = page.indexOf(end, from + start.length);
  if (to === -1) throw new Error(`${path.basename(BENCHMARKS_PAGE)}: ${start} has no matching ${end}`);
  return page.slice(0, from) + block + page.slice(to + end.length);
}

/** Rewrites one section of `file` (default: docs/benchmarks.md) in place, atomically. */
export async function writeSection(name: string, body: string, file = BENCHMARKS_PAGE): Promise<void> {
  let page = "";
  try {
    page = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    await mkdir(path.dirname(file), { recursive: true });
  }
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, replaceSection(page, name, body));
  await rename(temporary, file);
}
