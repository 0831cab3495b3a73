/** Thrown when an optional peer package a feature needs is not installed. */
export class MissingPeerError extends Error {
  override readonly name = "MissingPeerError";
  readonly _tag = "MissingPeerError";
  /** The package to install. */
  readonly packageName: string;

  constructor(packageName: string, feature: string, cause: unknown) {
    super(
      `${feature} needs the optional package "${packageName}", which is not installed: run \`npm install ${packageName}\``,
      { cause },
    );
    this.packageName = packageName;
  }
}

/**
 * The specifier Node (and bundlers copying it) quote in "not found":
 * `Cannot find package 'x' imported from …` (ESM), `Cannot find module 'x'` (CommonJS).
 */
const NOT_FOUND_SPECIFIER = /^Cannot find (?:package|module) (['"])(.+?)\1/;

/**
 * Whether `error` says that the module itself (not one of its own imports) could not be found:
 * the quoted specifier must be the package name exactly, since a path inside the package (or
 * another package's name) can contain it.
 */
function isModuleNotFound(error: unknown, packageName: string): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const code = e?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  if (typeof e.message !== "string") return false;
  return NOT_FOUND_SPECIFIER.exec(e.message)?.[2] === packageName;
}

/**
 * Loads an optional peer package with `load` (a dynamic `import()` of it), turning "not installed"
 * into a {@link MissingPeerError} naming the package; any other failure (one of the package's own
 * imports missing included) is rethrown as it is.
 */
export async function importOptionalPeer<T>(
  packageName: string,
  feature: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isModuleNotFound(error, packageName)) throw new MissingPeerError(packageName, feature, error);
    throw error;
  }
}
