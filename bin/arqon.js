#!/usr/bin/env node
// Launcher of the `arqon` command line: the bundled CLI when the package is built (`npm run build`
// writes dist/cli/, which starts in a fraction of the time the compiled modules it is made of
// take), else the compiled modules, else the TypeScript sources through tsx (a devDependency,
// present in a development checkout). A bundle older than the compiled modules (tsc run alone
// since, as `tsc --watch` does) is passed over for them: it would run stale code.
import { existsSync, statSync } from "node:fs";

const bundled = new URL("../dist/cli/arqon.js", import.meta.url);
const compiled = new URL("../dist/src/cli/main.js", import.meta.url);
const source = new URL("../src/cli/main.ts", import.meta.url);

const current = (bundle, modules) =>
  !existsSync(modules) || statSync(bundle).mtimeMs >= statSync(modules).mtimeMs;

if (existsSync(bundled) && current(bundled, compiled)) {
  await import(bundled.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    process.stderr.write(
      "arqon: no compiled CLI (dist/src/cli/main.js) and tsx is not installed; run `npm run build`\n",
    );
    process.exitCode = 1;
  }
  if (register !== undefined) {
    register();
    await import(source.href);
  }
}
