import { readdir, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { errorMessage } from "../errors.js";
import {
  type Asset,
  checkLocalOptions,
  listenLocal,
  SECURITY_HEADERS,
  sendAsset,
  sendJson,
} from "./http-basics.js";
import { DASHBOARD_CSS } from "./page.js";
import { COMMON_SCRIPT } from "./page-common.js";
import { allowedHost } from "./request-guard.js";
import { type Study, StudyFollower } from "./study.js";
import { STUDY_HTML, STUDY_SCRIPT } from "./study-page.js";
import { vendorAssets } from "./vendor-assets.js";

/** Options of {@link serveStudy}. */
export interface StudyServerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Interface to bind: only `"127.0.0.1"` is accepted. */
  readonly host?: string;
  /** How often the state is checked for changes, ms (default 1000; at least 20). */
  readonly intervalMs?: number;
}

/** A running study view. */
export interface StudyServer {
  /** The page's address. */
  readonly url: string;
  /** The study as last read. */
  readonly study: Study;
  /** Stops the server and the polling. Idempotent. */
  close(): Promise<void>;
}

const PAGE: Readonly<Record<string, Asset>> = {
  "/": { type: "text/html; charset=utf-8", body: STUDY_HTML },
  "/common.js": { type: "text/javascript; charset=utf-8", body: COMMON_SCRIPT },
  "/study.js": { type: "text/javascript; charset=utf-8", body: STUDY_SCRIPT },
  "/app.css": { type: "text/css; charset=utf-8", body: DASHBOARD_CSS },
};

/**
 * Serves the study view of a solver's state on 127.0.0.1: the history of told results with the
 * best so far, one slice per parameter (objective against that parameter's value, best point
 * marked), and the table of trials. Read-only; the state is a JSON state file or a solver
 * decision-log directory (see `arqon solve --state`), checked every `intervalMs` and read again
 * when it changed, so a running study updates the page.
 *
 * @remarks
 * Routes: `GET /` (page), `/study.json` (`{ version, study, error }`: `version` starts from the
 * server's start time in ms and grows with each new read; `error` says why the last read failed, the previous study staying shown; with
 * `?known=<version>` naming the current version, `study` is left out), and the
 * page's scripts and styles (uPlot served from its package: it works offline).
 *
 * @throws StudyError when the state cannot be read at start; RangeError for a bad host, port or
 * interval.
 */
export async function serveStudy(
  input: { readonly study: string } | string,
  options: StudyServerOptions = {},
): Promise<StudyServer> {
  const path = typeof input === "string" ? input : input.study;
  const requestedPort = options.port ?? 0;
  checkLocalOptions(options.host ?? "127.0.0.1", requestedPort);
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isFinite(intervalMs) || intervalMs < 20)
    throw new RangeError(`intervalMs must be a number ≥ 20, got ${intervalMs}`);
  const assets: Record<string, Asset> = { ...PAGE, ...(await vendorAssets()) };
  // Kept between checks: a solver log is then replayed only as far as it grew.
  const follower = new StudyFollower(path);
  let study: Study;
  let signature: string;
  try {
    study = await follower.read();
    signature = await signatureOf(path);
  } catch (error) {
    follower.stop();
    throw error;
  }
  // Versions start from the clock, not at 1: a page left open across a restart of the server
  // (another study on the same port) must not be told that it already holds the new one.
  let version = Date.now();
  let error: string | null = null;
  let port = 0;
  // The full reply, serialised once per version and error, however many pages ask.
  let body: { version: number; error: string | null; text: string } | undefined;
  const studyBody = (): string => {
    if (body === undefined || body.version !== version || body.error !== error)
      body = { version, error, text: JSON.stringify({ version, study, error }) };
    return body.text;
  };

  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!allowedHost(req.headers.host, port)) return sendJson(res, 403, { error: "host not allowed" });
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendJson(res, 405, { error: "method not allowed" });
    }
    // Split, not parsed as a URL: a malformed one (`//[`) would throw out of the handler.
    const [route = "/", query = ""] = (req.url ?? "/").split("?", 2);
    const asset = assets[route];
    if (asset !== undefined) return sendAsset(res, asset, req.method === "HEAD");
    if (route === "/study.json") {
      // A page that already holds this version gets only the version and the error: a study of
      // thousands of trials is hundreds of kilobytes, and the page asks every 1.5 s.
      if (new URLSearchParams(query).get("known") === String(version))
        return sendJson(res, 200, { version, error });
      return sendAsset(
        res,
        { type: "application/json; charset=utf-8", body: studyBody() },
        req.method === "HEAD",
      );
    }
    if (route === "/favicon.ico") return void res.writeHead(204).end();
    sendJson(res, 404, { error: "not found" });
  });
  try {
    port = await listenLocal(server, requestedPort);
  } catch (error) {
    follower.stop();
    throw error;
  }

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  const check = () => {
    timer = undefined;
    checking = (async () => {
      try {
        const now = await signatureOf(path);
        if (now !== signature) {
          study = await follower.read();
          signature = now;
          version++;
        }
        // A read that failed once and works again, on a file unchanged since, clears its error.
        error = null;
      } catch (failure) {
        error = errorMessage(failure);
      }
      if (!closed) timer = setTimeout(check, intervalMs).unref();
    })();
  };
  timer = setTimeout(check, intervalMs).unref();

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/`,
    get study() {
      return study;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        if (timer !== undefined) clearTimeout(timer);
        await checking;
        follower.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/** Size and modification time of a file, or of every file of a directory: changes when it is written. */
async function signatureOf(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isDirectory()) return `${info.size}:${info.mtimeMs}`;
  const parts: string[] = [];
  for (const name of (await readdir(path)).sort()) {
    const entry = await stat(join(path, name));
    parts.push(`${name}:${entry.size}:${entry.mtimeMs}`);
  }
  return parts.join("|");
}
