// Module resolution hooks that make the optional peer `ioredis` look not installed, as it is for
// a user who installed arqon without it (see hide-ioredis.mjs).
export async function resolve(specifier, context, next) {
  if (specifier === "ioredis" || specifier.startsWith("ioredis/")) {
    const error = new Error(`Cannot find package 'ioredis' imported from ${context.parentURL}`);
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}
