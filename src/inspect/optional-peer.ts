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

/** Whether `error` says that the module itself (not one of its own imports) could not be found. */
function isModuleNotFound(error: unknown, packageName: string): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const code = e?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  return typeof e.message === "string" && e.message.includes(packageName);
}

/**
 * Loads an optional peer package with `load` (a dynamic `import()` of it), turning "not installed"
 * into a {@link MissingPeerError} naming the package; any other failure is rethrown as it is.
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
