// `npm run -s arqon -- <args>`: the CLI from the TypeScript sources (tsx is loaded by the
// script's `--import tsx`), run in the directory npm was called from. npm runs every script from
// the package root, so relative paths such as `--state run.json` would otherwise point there.
const from = process.env.INIT_CWD;
if (from) {
  try {
    process.chdir(from);
  } catch (error) {
    process.stderr.write(
      `arqon: cannot run in ${from}, the directory npm was called from: ${error.message}\n`,
    );
    process.exit(1);
  }
}
await import(new URL("../src/cli/main.ts", import.meta.url).href);
