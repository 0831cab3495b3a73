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

  it("names a script's missing interpreter (its #! line), directly or through env", () => {
    const script = (name: string, text: string) => {
      writeFileSync(join(dir, "bin", name), text);
      chmodSync(join(dir, "bin", name), 0o755);
    };
    script("py-missing", "#!/usr/local/nowhere/python3\nprint(1)\n");
    script("env-missing", "#! /usr/bin/env  no-such-python-xyz -u\nprint(1)\n");
    script("env-found", `#!/usr/bin/env tool\n`);
    script("env-flag", "#!/usr/bin/env -S tool -x\n");
    script("binary", "\x7fELF\n");
    expect(programProblem("./bin/py-missing", dir, {})).toBe(
      'its interpreter "/usr/local/nowhere/python3" (its #! line) was not found',
    );
    expect(programProblem("env-missing", "/", { PATH: join(dir, "bin") })).toBe(
      'its interpreter "no-such-python-xyz" (its #! line, through env) is not on PATH',
    );
    // Found on PATH, or left to env when it takes options: no problem to report.
    expect(programProblem("./bin/env-found", dir, { PATH: join(dir, "bin") })).toBeUndefined();
    expect(programProblem("./bin/env-flag", dir, { PATH: "/nonexistent" })).toBeUndefined();
    expect(programProblem("./bin/binary", dir, {})).toBeUndefined();
    // Windows line endings: the kernel looks for "/bin/sh\r", which is not there.
    script("crlf", "#!/bin/sh\r\necho 1\r\n");
    script("env-crlf", "#!/usr/bin/env sh\r\necho 1\r\n");
    const crlf = "its #! line ends in a carriage return (the script has Windows line endings)";
    expect(programProblem("./bin/crlf", dir, {})).toBe(crlf);
    expect(programProblem("./bin/env-crlf", dir, { PATH: "/usr/bin:/bin" })).toBe(crlf);
    expect(programProblem("./bin/tool", dir, {})).toBeUndefined();
  });

  it("leaves the search to spawn when the environment has no PATH", () => {
    expect(programProblem("anything", "/", {})).toBeUndefined();
  });
});
