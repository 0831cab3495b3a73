import { type JSONPath, visit } from "jsonc-parser";

/** A key given twice in one JSON object: where (1-based) the second and the first occurrence are. */
export interface DuplicateJsonKey {
  /** The key's path, e.g. `bounds.lr`, `[0].value`, `bounds["learning-rate"]`. */
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly firstLine: number;
  readonly firstColumn: number;
}

/**
 * The first key that appears twice in the same object of the JSON `text`, or `undefined` when none
 * does. `JSON.parse` silently keeps the last of them, so a config's first `"lr"` would vanish.
 */
export function findDuplicateKey(text: string): DuplicateJsonKey | undefined {
  const objects: Map<string, { line: number; column: number }>[] = [];
  let found: DuplicateJsonKey | undefined;
  visit(text, {
    onObjectBegin: () => {
      objects.push(new Map());
    },
    onObjectEnd: () => {
      objects.pop();
    },
    onObjectProperty: (key, _offset, _length, line, character, pathSupplier) => {
      if (found !== undefined) return;
      const seen = objects.at(-1)!;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, { line: line + 1, column: character + 1 });
        return;
      }
      found = {
        path: formatPath([...pathSupplier(), key]),
        line: line + 1,
        column: character + 1,
        firstLine: first.line,
        firstColumn: first.column,
      };
    },
  });
  return found;
}

/** `path` as JavaScript would reach it: `.name` for plain names, `[i]` for items, `["a-b"]` otherwise. */
function formatPath(path: JSONPath): string {
  return path
    .map((segment, i) => {
      if (typeof segment === "number") return `[${segment}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join("");
}
