import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";
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
  const path = program.includes("/")
    ? isAbsolute(program)
      ? program
      : resolve(cwd, program)
    : onPath(program, cwd, env);
  if (path === undefined) return env.PATH === undefined ? undefined : NO_SUCH_PROGRAM;
  return executableProblem(path) ?? interpreterProblem(path, cwd, env);
}

/** Where `program` (a bare name) is found on `env`'s PATH, resolved from `cwd`; undefined if nowhere. */
function onPath(
  program: string,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (env.PATH === undefined) return undefined;
  // An empty entry is the working directory, as for the shell and execvp.
  const directories = env.PATH.split(delimiter).map((d) => (d === "" ? "." : d));
  for (const directory of directories) {
    const path = resolve(cwd, join(directory, program));
    if (executableProblem(path) === undefined) return path;
  }
  return undefined;
}

/**
 * Why a script's interpreter (its `#!` line) would not start: spawning it fails with ENOENT as if
 * the script itself were missing, which sent users looking for a file that was there. Checks an
 * absolute interpreter, and the program `env` is asked to find (`#!/usr/bin/env python3`) on PATH;
 * anything else (options to env, a relative interpreter) is left to the spawn.
 */
function interpreterProblem(
  path: string,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const line = firstLine(path);
  if (line === undefined || !line.startsWith("#!")) return undefined;
  // The kernel takes the \r as part of the last word: "/bin/sh\r" is not found.
  if (line.endsWith("\r"))
    return "its #! line ends in a carriage return (the script has Windows line endings)";
  const [interpreter, argument] = line
    .slice(2)
    .trim()
    .split(/[ \t]+/);
  if (interpreter === undefined || !isAbsolute(interpreter)) return undefined;
  if (executableProblem(interpreter) !== undefined)
    return `its interpreter ${JSON.stringify(interpreter)} (its #! line) was not found`;
  const viaEnv = interpreter.endsWith("/env") && argument !== undefined && !argument.startsWith("-");
  if (!viaEnv || env.PATH === undefined || argument.includes("/")) return undefined;
  if (onPath(argument, cwd, env) !== undefined) return undefined;
  return `its interpreter ${JSON.stringify(argument)} (its #! line, through env) is not on PATH`;
}

/** The first line of a file, read from its first 256 bytes; undefined when it cannot be read. */
function firstLine(path: string): string | undefined {
  const bytes = Buffer.alloc(256);
  let length: number;
  try {
    const fd = openSync(path, "r");
    try {
      length = readSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const text = bytes.subarray(0, length).toString("latin1");
  const end = text.indexOf("\n");
  return end < 0 ? text : text.slice(0, end);
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
