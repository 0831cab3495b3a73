/**
 * `url` with any password replaced by `***`, in the userinfo or in a `password` query parameter
 * (ioredis reads both); error messages end up in logs.
 */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "" && !parsed.searchParams.has("password")) return url;
    if (parsed.password !== "") parsed.password = "***";
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
    return parsed.toString();
  } catch {
    // Not a URL: shown as it is unless it might hold a password.
    return /@|password/i.test(url) ? "the given URL" : url;
  }
}
