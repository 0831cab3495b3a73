/**
 * Runs a docs sample (docs/snippets/<name>) as its own process, its `arqon/…` imports resolved to
 * the sources, as test/docs-samples.test.ts does for the getting-started samples.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const ENTRIES: Readonly<Record<string, string>> = {
  arqon: "src/index.ts",
  "arqon/testing": "src/testing/index.ts",
  "arqon/metrics": "src/metrics/index.ts",
  "arqon/study": "src/study/index.ts",
};

/** Output and exit status of one run. */
export interface SnippetRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

/** Runs `docs/snippets/<name>` with `env` added to the environment. */
export async function runSnippet(name: string, env: Record<string, string> = {}): Promise<SnippetRun> {
  const dir = mkdtempSync(join(tmpdir(), "arqon-snippet-"));
  const tsconfig = join(dir, "tsconfig.json");
  const paths = Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, [join(ROOT, v)]]));
  writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { paths } }));
  try {
    return await new Promise<SnippetRun>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "docs/snippets", name)], {
        cwd: ROOT,
        env: { ...process.env, ...env, TSX_TSCONFIG_PATH: tsconfig },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      child.once("error", reject);
      child.once("exit", (status) => resolve({ stdout, stderr, status }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
