import { readlinkSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from "node:path";
import { errorMessage, hasErrorCode } from "../errors.js";
import { usageError } from "./cli-error.js";

/** How many symbolic links one path may go through before it counts as a loop (Linux's limit). */
const MAX_LINKS = 40;

/** Real paths of the states this process holds locked, by the absolute path the command named. */
const pinned = new Map<string, { readonly real: string }>();

/**
 * Where the state at `path` (relative to `cwd`) really is: an absolute path through every symbolic
 * link, so a state named by a link is read, written and locked where the link points, and two
 * names of one state share one lock.
 *
 * @remarks
 * Every link is followed, also one whose target does not exist yet (the state is then created
 * there, as a shell's `>` would create it), and so is every link in the directories above it. The
 * part of the path that does not exist yet is kept as given, under the real path of the part that
 * does. While this process holds the state's lock (see {@link pinStatePath}), the answer is the
 * path it locked, even if a link was changed since: a command reads and writes what it locked.
 *
 * A path whose links form a loop, or that goes through a regular file as if it were a directory,
 * is a usage error naming `--state`.
 */
export function realStatePath(cwd: string, path: string): string {
  const named = namedPath(cwd, path);
  return pinned.get(named)?.real ?? followLinks(cwd, path, named);
}

/**
 * `path` made absolute against `cwd` without normalising it: a `..` after a symbolic link to a
 * directory leads to that directory's parent, as the kernel reads it, not back past the link.
 */
function namedPath(cwd: string, path: string): string {
  return isAbsolute(path) ? path : `${resolve(cwd)}${sep}${path}`;
}

/**
 * Makes {@link realStatePath} answer `real` for `path` (relative to `cwd`) until the returned
 * function is called: for a command holding the lock at `real`.
 */
export function pinStatePath(cwd: string, path: string, real: string): () => void {
  const named = namedPath(cwd, path);
  const pin = { real };
  pinned.set(named, pin);
  return () => {
    if (pinned.get(named) === pin) pinned.delete(named);
  };
}

/** `named` (absolute) resolved component by component, as the kernel would, except that it may end in names that do not exist. */
function followLinks(cwd: string, path: string, named: string): string {
  const { root } = parse(named);
  /** The real path of the components taken so far: an existing directory (or, once all are taken, the state). */
  let done = root;
  const rest = components(named.slice(root.length));
  let links = 0;
  for (let name = rest.shift(); name !== undefined; name = rest.shift()) {
    if (name === "..") {
      done = dirname(done); // `done` is real, so its parent is the physical one
      continue;
    }
    const next = join(done, name);
    let link: string;
    try {
      link = readlinkSync(next);
    } catch (error) {
      if (hasErrorCode(error, "EINVAL")) {
        done = next; // exists, and is not a link
        continue;
      }
      // Nothing there yet: the rest is created under the real directory reached so far.
      if (hasErrorCode(error, "ENOENT")) return resolve(next, ...rest);
      if (hasErrorCode(error, "ENOTDIR"))
        throw usageError(`cannot use --state ${path}: ${shown(cwd, done)} is not a directory`);
      throw usageError(`cannot use --state ${path}: ${errorMessage(error)}`);
    }
    if (++links > MAX_LINKS) throw usageError(`cannot use --state ${path}: its symbolic links form a loop`);
    rest.unshift(...components(link));
    if (isAbsolute(link)) done = parse(link).root;
  }
  return done;
}

/** The non-empty, non-`.` components of `path`. */
function components(path: string): string[] {
  return path.split(sep === "/" ? "/" : /[\\/]/).filter((name) => name !== "" && name !== ".");
}

/** `real` for a message: relative to the working directory when it is inside it, else absolute. */
function shown(cwd: string, real: string): string {
  let base = cwd;
  try {
    base = realpathSync(cwd);
  } catch {
    // A working directory that vanished: absolute paths then.
  }
  const rel = relative(base, real);
  return rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? real : rel;
}
