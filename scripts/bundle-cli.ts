/**
 * Bundles the compiled command line (`dist/src/cli/main.js`, from `tsc -p tsconfig.build.json`)
 * into `dist/cli/`, which `bin/arqon.js` runs when it is there.
 *
 *   npx tsx scripts/bundle-cli.ts      # after tsc; `npm run build` runs both
 *
 * Why: every `arqon` call is a new process, and a shell loop of `arqon ask` / `arqon tell` pays the
 * start-up on every trial. Unbundled, Node's module loader resolves, opens and links about five
 * hundred files for one `arqon ask` (most of them Effect's and fast-check's, which Effect's Schema
 * loads), and that loading was most of the call; the bundle is a few dozen files. It is split by
 * command (each command's module is a dynamic import), so a call loads only its command's chunks.
 *
 * The optional peers stay outside the bundle and load from the user's `node_modules` when a
 * command needs them (`ioredis` for `--storage`), so the other commands run without them; every
 * other package is bundled in, so the CLI does not depend on which versions the project around it
 * has installed. `module` entry points come first: a package's UMD build (jsonc-parser's) requires
 * files by computed paths that a bundler cannot follow. Identifiers are kept, so stack traces name
 * arqon's functions.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { REPO_ROOT } from "./generated-files.js";

/** Where the bundle goes, relative to the repository; `bin/arqon.js` looks for its entry there. */
export const CLI_BUNDLE_DIR = "dist/cli";
/** The bundle's entry, relative to the repository. */
export const CLI_BUNDLE_ENTRY = `${CLI_BUNDLE_DIR}/arqon.js`;

/** The optional peer packages (package.json's `peerDependenciesMeta`), left out of the bundle. */
export function optionalPeers(root = REPO_ROOT): string[] {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  return Object.entries(pkg.peerDependenciesMeta ?? {})
    .filter(([, meta]) => meta.optional === true)
    .map(([name]) => name);
}

/** Bundles `dist/src/cli/main.js` into {@link CLI_BUNDLE_DIR}, replacing what was there. */
export async function bundleCli(root = REPO_ROOT): Promise<void> {
  const outdir = join(root, CLI_BUNDLE_DIR);
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { arqon: join(root, "dist/src/cli/main.js") },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir,
    mainFields: ["module", "main"],
    external: optionalPeers(root),
    minifySyntax: true,
    minifyWhitespace: true,
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: {
      js: 'import { createRequire as arqonCreateRequire } from "node:module"; const require = arqonCreateRequire(import.meta.url);',
    },
    logLevel: "warning",
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await bundleCli();
