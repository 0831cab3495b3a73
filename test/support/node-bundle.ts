import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A script bundled by {@link bundleForNode}, and how to remove it. */
export interface NodeBundle {
  /** The bundle's path: run it with `node <script>`. */
  readonly script: string;
  /** Removes the bundle and its directory. */
  cleanup(): void;
}

/**
 * Bundles the TypeScript file `entry` and what it imports into one plain `.mjs` file in a fresh
 * temporary directory, with esbuild (installed with tsx), so that a child process starts as a
 * bare `node`: in tens of milliseconds, and with no loader of its own in its memory. `require`
 * gives the bundle a `require` for CommonJS dependencies that ask for Node's built-ins (ioredis).
 */
export async function bundleForNode(
  entry: string,
  options: { readonly require?: boolean } = {},
): Promise<NodeBundle> {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "arqon-bundle-"));
  const script = join(dir, "child.mjs");
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: script,
    logLevel: "error",
    ...(options.require === true
      ? {
          banner: {
            js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
          },
        }
      : {}),
  });
  return { script, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
