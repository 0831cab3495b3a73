import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { programProblem } from "../src/cli/find-program.js";

// The look-up `arqon solve` makes before it touches its state, on real files.
const dir = mkdtempSync(join(tmpdir(), "arqon-find-program-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "bin"));
writeFileSync(join(dir, "bin", "tool"), "#!/bin/sh\necho 1\n");
chmodSync(join(dir, "bin", "tool"), 0o755);
writeFileSync(join(dir, "bin", "plain"), "not executable\n");
mkdirSync(join(dir, "bin", "folder"));

const NO_SUCH = "no such program (check the path, or that it is on PATH)";

describe.skipIf(process.platform === "win32")("programProblem", () => {
  it("finds a program on PATH, or at a path relative to the working directory", () => {
    expect(programProblem("tool", "/", { PATH: `/nonexistent:${join(dir, "bin")}` })).toBeUndefined();
    expect(programProblem("./bin/tool", dir, { PATH: "" })).toBeUndefined();
    expect(programProblem(join(dir, "bin", "tool"), "/", {})).toBeUndefined();
    // Relative PATH entries and an empty one (the working directory) resolve from `cwd`.
    expect(programProblem("tool", dir, { PATH: "bin" })).toBeUndefined();
    expect(programProblem("tool", join(dir, "bin"), { PATH: "/nonexistent:" })).toBeUndefined();
  });

  it("names why a program would not start", () => {
    expect(programProblem("tool", "/", { PATH: "/nonexistent" })).toBe(NO_SUCH);
    expect(programProblem("./bin/missing", dir, {})).toBe(NO_SUCH);
    expect(programProblem("./bin/plain", dir, {})).toBe("permission denied (is it executable?)");
    expect(programProblem("./bin/folder", dir, {})).toBe("not a file");
    // On PATH, only an executable file counts.
    expect(programProblem("plain", "/", { PATH: join(dir, "bin") })).toBe(NO_SUCH);
    expect(programProblem("folder", "/", { PATH: join(dir, "bin") })).toBe(NO_SUCH);
  });

  it("leaves the search to spawn when the environment has no PATH", () => {
    expect(programProblem("anything", "/", {})).toBeUndefined();
  });
});
