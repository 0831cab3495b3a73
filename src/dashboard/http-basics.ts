import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A file a dashboard server sends as it is. */
export interface Asset {
  readonly type: string;
  readonly body: string;
}

/** Headers of every response: nothing may be framed, sniffed, or loaded from elsewhere. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Sends `body` as JSON, never cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/** Sends an asset (the body left out for HEAD), never cached. */
export function sendAsset(res: ServerResponse, asset: Asset, head: boolean): void {
  res.writeHead(200, { "content-type": asset.type, "cache-control": "no-store" });
  res.end(head ? undefined : asset.body);
}

/**
 * Checks the options every dashboard server shares: only 127.0.0.1, a port in [0, 65535].
 *
 * @throws RangeError naming the option.
 */
export function checkLocalOptions(host: string, port: number): void {
  if (host !== "127.0.0.1")
    throw new RangeError(`the dashboard binds to 127.0.0.1 only, got host ${JSON.stringify(host)}`);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`port must be a whole number in [0, 65535], got ${port}`);
}

/** Listens on 127.0.0.1:`port` (0: a free one) and resolves to the port bound. */
export async function listenLocal(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
