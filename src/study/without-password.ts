/** What {@link withoutPassword} shows instead of a text it hides whole. */
export const HIDDEN_URL = "the given URL";

/**
 * `url` with any password replaced by `***` (error messages end up in logs): in the userinfo of a
 * `redis://` or `rediss://` URL, and in every query parameter whose name holds "password"
 * (`password`, `sentinelPassword`: ioredis reads them all). Any other text holding an `@` is shown
 * as a placeholder: ioredis reads `user:password@host` without a scheme, or with one it does not
 * know, where the WHATWG URL parser sees no password.
 */
export function withoutPassword(url: string): string {
  if (/^rediss?:\/\//i.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.password === "") return withoutQueryPasswords(url);
      parsed.password = "***";
      return withoutQueryPasswords(parsed.toString());
    } catch {
      // Not a URL: as below.
    }
  }
  return url.includes("@") ? HIDDEN_URL : withoutQueryPasswords(url);
}

/** `text` with the value of every query parameter whose name (decoded) holds "password" as `***`. */
function withoutQueryPasswords(text: string): string {
  const start = text.indexOf("?");
  if (start === -1) return text;
  // The fragment too: a parameter written after a `#` is hidden rather than parsed exactly.
  const query = text
    .slice(start + 1)
    .split("&")
    .map((part) => {
      const equals = part.indexOf("=");
      return equals !== -1 && /password/i.test(decoded(part.slice(0, equals)))
        ? `${part.slice(0, equals)}=***`
        : part;
    });
  return `${text.slice(0, start + 1)}${query.join("&")}`;
}

function decoded(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, " "));
  } catch {
    return name;
  }
}
