// `npm run -s arqon -- <args>`: the CLI from the TypeScript sources (tsx is loaded by the
// script's `--import tsx`), run in the directory npm was called from. npm runs every script from
// the package root, so relative paths such as `--state run.json` would otherwise point there.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
await import(new URL("../src/cli/main.ts", import.meta.url).href);
