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
 * other package's code is bundled in, so the CLI's code does not depend on which versions the
 * project around it has installed (the dashboard still serves uPlot's files from `node_modules`,
 * where arqon's dependencies put them). `module` entry points come first: a package's UMD build
 * (jsonc-parser's) requires files by computed paths that a bundler cannot follow. Lines and names
 * are kept (no whitespace minifying, `keepNames`), so a stack trace names arqon's functions at
 * readable lines. The licences of the bundled packages go beside it, in THIRD-PARTY-LICENSES.txt.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  const { metafile } = await build({
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
    keepNames: true,
    metafile: true,
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: {
      js: 'import { createRequire as arqonCreateRequire } from "node:module"; const require = arqonCreateRequire(import.meta.url);',
    },
    logLevel: "warning",
  });
  writeFileSync(join(outdir, LICENSES_FILE), thirdPartyLicenses(root, Object.keys(metafile.inputs)));
}

/** The file, beside the bundle, that holds the licences of the packages bundled in. */
export const LICENSES_FILE = "THIRD-PARTY-LICENSES.txt";

/**
 * The licence texts of the packages whose files are in the bundle (`inputs`, paths relative to
 * `root`), each under its name and version; a package that ships no licence file is named with
 * its package.json's `license`.
 */
function thirdPartyLicenses(root: string, inputs: readonly string[]): string {
  const packages = new Set<string>();
  for (const input of inputs) {
    // The innermost node_modules: a package nested in another's is a package of its own.
    const at = input.lastIndexOf("node_modules/");
    if (at < 0) continue;
    const name = /^(?:@[^/]+\/)?[^/]+/.exec(input.slice(at + "node_modules/".length));
    if (name !== null) packages.add(`${input.slice(0, at)}node_modules/${name[0]}`);
  }
  const sections = [...packages].sort().map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
      name: string;
      version: string;
      license?: string;
    };
    const file = readdirSync(join(root, dir)).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text =
      file === undefined
        ? `License: ${pkg.license ?? "not stated"}`
        : readFileSync(join(root, dir, file), "utf8");
    return `${pkg.name}@${pkg.version}\n\n${text.trim()}\n`;
  });
  return [
    "The arqon command line (dist/cli/) bundles the following packages. Their licences follow.",
    "",
    sections.join(`\n${"-".repeat(72)}\n\n`),
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await bundleCli();
