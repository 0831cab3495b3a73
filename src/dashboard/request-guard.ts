/**
 * Checks every dashboard request must pass: the Host and Origin headers (against DNS rebinding
 * and cross-site requests) and, for control actions, the bearer token.
 */
import { timingSafeEqual } from "node:crypto";

/** The only Host header values the server answers: its own loopback address or localhost, with its port. */
export function allowedHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/**
 * Whether an Origin header is acceptable: absent (same-origin GETs and non-browser clients send
 * none), or exactly this server's own origin.
 */
export function allowedOrigin(origin: string | undefined, port: number): boolean {
  return (
    origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`
  );
}

/** Outcome of a token check: 0 accepted, 401 missing (or not a Bearer header), 403 wrong. */
export type TokenCheck = 0 | 401 | 403;

/**
 * Checks an `Authorization: Bearer <token>` header against `token` in constant time (for equal
 * lengths), so that response timing does not reveal how much of a guess was right.
 */
export function checkBearer(header: string | undefined, token: string): TokenCheck {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) return 401;
  const given = Buffer.from(match[1]!, "utf8");
  const expected = Buffer.from(token, "utf8");
  if (given.length !== expected.length) return 403;
  return timingSafeEqual(given, expected) ? 0 : 403;
}
