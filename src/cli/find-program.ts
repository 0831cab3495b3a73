import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Why a program did not start, as the look-up here and a failed spawn both say it. */
export const NO_SUCH_PROGRAM = "no such program (check the path, or that it is on PATH)";
export const NOT_EXECUTABLE = "permission denied (is it executable?)";

/**
 * Why `program` could not be started from `cwd` with `env`'s PATH, in words; `undefined` when an
 * executable file is there. `arqon solve` asks before it touches its state or asks a trial, so a
 * misspelt command changes nothing. Spawning can still fail later (the file may go away); that
 * failure is reported then. It does not look on Windows (where the file names that run differ),
 * nor when `env` has no PATH (spawning then searches a default path of its own).
 */
export function programProblem(
  program: string,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (process.platform === "win32") return undefined;
  if (program.includes("/")) return executableProblem(isAbsolute(program) ? program : resolve(cwd, program));
  if (env.PATH === undefined) return undefined;
  // An empty entry is the working directory, as for the shell and execvp.
  const directories = env.PATH.split(delimiter).map((d) => (d === "" ? "." : d));
  for (const directory of directories) {
    if (executableProblem(resolve(cwd, join(directory, program))) === undefined) return undefined;
  }
  return NO_SUCH_PROGRAM;
}

function executableProblem(path: string): string | undefined {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return NO_SUCH_PROGRAM;
  }
  if (!isFile) return "not a file";
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return NOT_EXECUTABLE;
  }
}
