/**
 * What `npm pack` would publish, checked the way a consumer meets it: the file list, publint, are-the-types-wrong
 * (ESM-only profile) and imports through the package name from an unpacked copy of the tarball.
 *
 * Relies on a built `dist/`, which the test command builds first (test/global-setup.ts).
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, unknown>;
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

/** The public entry points, and nothing else. */
const EXPECTED_EXPORTS = [
  ".",
  "./react",
  "./inspect",
  "./inspect/stately",
  "./node",
  "./testing",
  "./redis",
  "./machines",
  "./metrics",
  "./study",
  "./package.json",
];

/** Module paths a consumer must not be able to reach through the package name. */
const INTERNAL_SPECIFIERS = [
  "arqon/src/engine/engine.js",
  "arqon/src/engine/engine.ts",
  "arqon/dist/src/engine/engine.js",
  "arqon/dist/src/hotpath/live-config.js",
  "arqon/machines/spsa.machine.js",
  "arqon/src/index.js",
];

interface PackResult {
  readonly filename: string;
  readonly files: ReadonlyArray<{ readonly path: string; readonly mode: number }>;
}

function npm(args: readonly string[], cwd: string): string {
  const result = spawnSync("npm", [...args], { cwd, encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`npm ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** `types`/`default` targets of every conditional export entry. */
function exportTargets(): string[] {
  return Object.values(pkg.exports).flatMap((entry) =>
    typeof entry === "string" ? [entry] : Object.values(entry as Record<string, string>),
  );
}

let workDir: string;
let tarball: string;
let packedFiles: string[];
/** A throwaway project whose node_modules holds the unpacked tarball as `arqon` beside the dev tree's packages. */
let consumerDir: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/src/index.js"))) {
    throw new Error(
      "dist/ is missing although test/global-setup.ts builds it: run `npm run build` and read its errors",
    );
  }
  const dryRun = JSON.parse(npm(["pack", "--dry-run", "--json", "--ignore-scripts"], ROOT)) as PackResult[];
  packedFiles = dryRun[0]!.files.map((f) => f.path);

  workDir = mkdtempSync(join(tmpdir(), "arqon-pack-"));
  const packed = JSON.parse(
    npm(["pack", "--json", "--ignore-scripts", "--pack-destination", workDir], ROOT),
  ) as PackResult[];
  tarball = join(workDir, packed[0]!.filename);

  consumerDir = join(workDir, "consumer");
  const modules = join(consumerDir, "node_modules");
  mkdirSync(modules, { recursive: true });
  const untar = spawnSync("tar", ["-xzf", tarball, "-C", workDir], { encoding: "utf8" });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  renameSync(join(workDir, "package"), join(modules, pkg.name));
  // The package's dependencies and optional peers come from the dev tree, by symlink.
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry === pkg.name || entry.startsWith(".")) continue;
    symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry));
  }
}, 180_000);

afterAll(() => {
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/** Runs an ES module snippet in the consumer project; returns its stdout. */
function runInConsumer(source: string): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", source], {
    cwd: consumerDir,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe("package.json", () => {
  it("exports exactly the public entry points, types first, from dist/", () => {
    expect(Object.keys(pkg.exports).sort()).toEqual([...EXPECTED_EXPORTS].sort());
    expect(pkg.exports["./package.json"]).toBe("./package.json");
    for (const key of EXPECTED_EXPORTS.filter((k) => k !== "./package.json")) {
      const entry = pkg.exports[key] as Record<string, string>;
      expect(Object.keys(entry), key).toEqual(["types", "default"]);
      expect(entry.types, key).toMatch(/^\.\/dist\/.+\.d\.ts$/);
      expect(entry.default, key).toMatch(/^\.\/dist\/.+\.js$/);
    }
  });
});

describe("tsconfig.json", () => {
  it("maps every public entry point to its source, so examples run on a fresh clone without a build", () => {
    const { config } = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile);
    const paths = (config as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
    const expected: Record<string, string[]> = {};
    for (const key of EXPECTED_EXPORTS.filter((k) => k !== "./package.json")) {
      const types = (pkg.exports[key] as Record<string, string>).types!;
      expected[`${pkg.name}${key.slice(1)}`] = [
        types.replace(/^\.\/dist\//, "./").replace(/\.d\.ts$/, ".ts"),
      ];
    }
    expect(paths).toEqual(expected);
  });
});

describe("dependencies", () => {
  it("takes effect, rxjs and xstate as peers: their values cross the API, so an app needs one copy of each", () => {
    const { dependencies = {}, peerDependencies = {}, devDependencies = {} } = pkg;
    for (const name of ["effect", "rxjs", "xstate"]) {
      expect(dependencies, name).not.toHaveProperty(name);
      // The range starts at the exact version the project builds and tests with.
      expect(devDependencies[name], name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(peerDependencies[name], name).toBe(`^${devDependencies[name]}`);
    }
  });

  it("the README states each peer range as package.json does", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    for (const name of ["effect", "rxjs", "xstate"]) {
      const version = pkg.devDependencies?.[name] ?? "";
      expect(readme, name).toContain(`\`${name}\` (${version.split(".")[0]}.x from ${version}`);
    }
  });
});

describe("npm pack from a fresh clone", () => {
  it("builds dist/ first, from scratch: every export and the CLI live there, and git holds none of it", () => {
    // `npm pack`, `npm publish` and a git dependency run prepack; the tests pack with --ignore-scripts.
    expect(pkg.scripts.prepack).toMatch(/rmSync\('dist'.*&& npm run build$/);
  });
});

describe("npm pack contents", () => {
  it("include the compiled entry points, their types, the CLI, the README and the LICENSE", () => {
    const required = [
      "package.json",
      "README.md",
      "LICENSE",
      ...Object.values(pkg.bin).map((p) => p.replace(/^\.\//, "")),
      ...exportTargets().map((p) => p.replace(/^\.\//, "")),
    ];
    for (const file of required) expect(packedFiles, file).toContain(file);
    expect(packedFiles.some((f) => f.startsWith("dist/src/") && f.endsWith(".d.ts"))).toBe(true);
  });

  it("include the documentation's pages and samples, so the README's links resolve in the package", () => {
    // Relative links of the README, and of every page to another page (the site's links drop
    // `.md`; a folder's page is its index.md).
    const packed = new Set(packedFiles);
    const targetsOf = (file: string): string[] =>
      [...readFileSync(join(ROOT, file), "utf8").matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((href) => !/^[a-z]+:/.test(href) && !href.startsWith("/"))
        .map((href) => posix.normalize(posix.join(posix.dirname(file), href)));
    const resolves = (target: string): boolean =>
      [target, `${target}.md`, posix.join(target, "index.md")].some((candidate) => packed.has(candidate));
    const readmeTargets = targetsOf("README.md");
    expect(readmeTargets.length).toBeGreaterThan(5);
    const pages = packedFiles.filter((f) => f.startsWith("docs/") && f.endsWith(".md"));
    expect(pages).toContain("docs/guide/solver.md");
    const dead = [...readmeTargets, ...pages.flatMap(targetsOf)].filter((target) => !resolves(target));
    expect(dead).toEqual([]);
    // The pages include their code from docs/snippets, and the metrics page's alert rules ship.
    expect(packedFiles).toContain("docs/snippets/minimize.ts");
    expect(packedFiles).toContain("examples/prometheus/arqon-alerts.yml");
    expect(packedFiles).toContain("examples/prometheus/arqon-alerts.test.yml");
  });

  it("leave out tests, benchmarks, examples but the alert rules, the docs site's build, scratch files and build debris", () => {
    const forbidden = [
      /^test\//,
      /^bench\//,
      /^examples\/(?!prometheus\/)/,
      /^docs\/(?!snippets\/)(?!.*\.md$)/,
      /^docs\/\.vitepress\//,
      /^scripts\//,
      /^\.scratch\//,
      /^test-artifacts\//,
      /^coverage\//,
      /node_modules\//,
      /\.test\.(ts|js|d\.ts)$/,
      /\.tgz$/,
      /^\.ci\//,
      /^\.venv/,
    ];
    const offenders = packedFiles.filter((file) => forbidden.some((re) => re.test(file)));
    expect(offenders).toEqual([]);
  });
});

describe("linters", () => {
  it("publint reports no errors on the packed tarball", async () => {
    const data = readFileSync(tarball);
    const tarballBuffer = data.buffer.slice(
      data.byteOffset,
      data.byteOffset + data.byteLength,
    ) as ArrayBuffer;
    const { messages, pkg: linted } = await publint({ pack: { tarball: tarballBuffer }, level: "warning" });
    const errors = messages.filter((m) => m.type === "error").map((m) => formatMessage(m, linted));
    expect(errors).toEqual([]);
  });

  it("are-the-types-wrong finds no problem under the ESM-only profile", () => {
    const attw = join(ROOT, "node_modules/.bin/attw");
    const result = spawnSync(attw, [tarball, "--profile", "esm-only", "--format", "json"], {
      cwd: workDir,
      encoding: "utf8",
      timeout: 120_000,
    });
    const report = JSON.parse(result.stdout) as {
      analysis: {
        entrypoints: Record<string, unknown>;
        problems: ReadonlyArray<{ kind: string; entrypoint?: string; resolutionKind?: string }>;
      };
    };
    // The ESM-only profile ignores the CommonJS and node10 resolutions; every other one must be clean.
    const relevant = report.analysis.problems.filter(
      (p) => p.resolutionKind !== "node10" && p.resolutionKind !== "node16-cjs",
    );
    expect(relevant).toEqual([]);
    expect(result.status).toBe(0);
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual([...EXPECTED_EXPORTS].sort());
  }, 120_000);
});

describe("the installed `arqon` command (unpacked tarball, no other package beside it)", () => {
  // The launcher runs the bundle in dist/cli/, which carries the code of every dependency these
  // commands use: with none of them installed, the compiled modules could not even load.
  let aloneDir: string;
  beforeAll(() => {
    aloneDir = join(workDir, "alone");
    mkdirSync(join(aloneDir, "node_modules"), { recursive: true });
    const untar = spawnSync("tar", ["-xzf", tarball, "-C", aloneDir], { encoding: "utf8" });
    if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
    renameSync(join(aloneDir, "package"), join(aloneDir, "node_modules", pkg.name));
    writeFileSync(
      join(aloneDir, "study.json"),
      JSON.stringify({
        seed: 1,
        budget: 10,
        bounds: {
          lr: { min: 1e-4, max: 1, scale: "log" },
          optimizer: { type: "categorical", choices: ["adam", "sgd"] },
        },
      }),
    );
  });

  function arqon(...args: string[]): { stdout: string; stderr: string; status: number | null } {
    const bin = join(aloneDir, "node_modules", pkg.name, pkg.bin.arqon!);
    return spawnSync(process.execPath, [bin, ...args], { cwd: aloneDir, encoding: "utf8", timeout: 60_000 });
  }

  it("ships the bundle its launcher runs, with the licences of the packages bundled in", () => {
    expect(packedFiles).toContain("dist/cli/arqon.js");
    expect(packedFiles).toContain("dist/cli/THIRD-PARTY-LICENSES.txt");
    const licences = readFileSync(
      join(aloneDir, "node_modules", pkg.name, "dist/cli/THIRD-PARTY-LICENSES.txt"),
      "utf8",
    );
    for (const name of ["effect", "rxjs", "xstate"])
      expect(licences).toMatch(new RegExp(`^${name}@\\d`, "m"));
  });

  it("runs --version, --help, validate, ask, tell and status with no dependency installed", () => {
    const help = arqon("help", "ask");
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^arqon ask --state /);
    const version = arqon("--version");
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toBe(`${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}\n`);
    const validate = arqon("validate", "--config", "study.json");
    expect(validate.status, validate.stderr).toBe(0);
    const ask = arqon("ask", "--config", "study.json", "--state", "run.json", "--batch", "2");
    expect(ask.status, ask.stderr).toBe(0);
    const ids = (JSON.parse(ask.stdout) as { trials: Array<{ id: number }> }).trials.map((t) => t.id);
    expect(ids).toHaveLength(2);
    const results = JSON.stringify(ids.map((id, i) => ({ id, value: i + 0.5 })));
    const tell = spawnSync(
      process.execPath,
      [join(aloneDir, "node_modules", pkg.name, pkg.bin.arqon!), "tell", "--state", "run.json"],
      { cwd: aloneDir, encoding: "utf8", input: results, timeout: 60_000 },
    );
    expect(tell.status, tell.stderr).toBe(0);
    const status = arqon("status", "--state", "run.json");
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ asked: 2, told: 2, best: { value: 0.5 } });
  }, 60_000);
});

describe("imports through the package name (unpacked tarball)", () => {
  it("every public entry point loads in Node without side effects on stdout", () => {
    const entries = EXPECTED_EXPORTS.filter((k) => k !== "./package.json" && k !== "./react").map((k) =>
      k === "." ? pkg.name : `${pkg.name}/${k.slice(2)}`,
    );
    const source = [
      "const loaded = {};",
      ...entries.map(
        (e) => `loaded[${JSON.stringify(e)}] = Object.keys(await import(${JSON.stringify(e)})).length;`,
      ),
      "process.stderr.write(JSON.stringify(loaded));",
    ].join("\n");
    const result = runInConsumer(source);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
    const loaded = JSON.parse(result.stderr) as Record<string, number>;
    for (const entry of entries) expect(loaded[entry], entry).toBeGreaterThan(0);
    expect(
      runInConsumer(
        "const m = await import('arqon'); process.exit(typeof m.createEngine === 'function' && typeof m.createSolver === 'function' ? 0 : 3);",
      ).status,
    ).toBe(0);
  }, 60_000);

  it("CommonJS code can require() every entry point (Node ≥ 20.19 loads ES modules so), as the README says", () => {
    const entries = EXPECTED_EXPORTS.filter((k) => k !== "./package.json" && k !== "./react").map((k) =>
      k === "." ? pkg.name : `${pkg.name}/${k.slice(2)}`,
    );
    const result = runInConsumer(
      [
        "import { createRequire } from 'node:module';",
        "const require = createRequire(import.meta.url);",
        "const loaded = {};",
        ...entries.map(
          (e) => `loaded[${JSON.stringify(e)}] = Object.keys(require(${JSON.stringify(e)})).length;`,
        ),
        "process.stdout.write(JSON.stringify(loaded));",
      ].join("\n"),
    );
    expect(result.status, result.stderr).toBe(0);
    const loaded = JSON.parse(result.stdout) as Record<string, number>;
    for (const entry of entries) expect(loaded[entry], entry).toBeGreaterThan(0);
  }, 60_000);

  it("the React entry resolves to a file in the package", () => {
    // Resolved, not imported: the hooks need React at run time, which is an optional peer.
    const result = runInConsumer("process.stdout.write(import.meta.resolve('arqon/react'));");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/node_modules\/arqon\/dist\/.+\.js$/);
    expect(existsSync(fileURLToPath(result.stdout))).toBe(true);
  });

  it("package.json is reachable", () => {
    const result = runInConsumer(
      "import { createRequire } from 'node:module'; process.stdout.write(createRequire(import.meta.url)('arqon/package.json').name);",
    );
    expect(result.stdout).toBe(pkg.name);
  });

  for (const specifier of INTERNAL_SPECIFIERS) {
    it(`${specifier} is not reachable (blocked by the exports map)`, () => {
      const result = runInConsumer(
        `try { await import(${JSON.stringify(specifier)}); process.stdout.write("imported"); } catch (e) { process.stdout.write(String(e.code)); }`,
      );
      expect(result.stdout).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
    });
  }
});
