import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { errorMessage } from "../errors.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import {
  type ControlAction,
  type ControlRequest,
  isBodyProblem,
  isControlAction,
  parseControlBody,
} from "./control-request.js";
import { DASHBOARD_OPTION_KEYS, type DashboardInput, resolveDashboardInput } from "./dashboard-input.js";
import { DashboardModel, DEFAULT_HISTORY_LIMIT } from "./dashboard-model.js";
import type { FleetView } from "./fleet-view.js";
import {
  type Asset,
  checkLocalOptions,
  listenLocal,
  SECURITY_HEADERS,
  sendAsset,
  sendJson,
} from "./http-basics.js";
import { DASHBOARD_CSS, DASHBOARD_HTML } from "./page.js";
import { COMMON_SCRIPT } from "./page-common.js";
import { DASHBOARD_SCRIPT } from "./page-script.js";
import { allowedHost, allowedOrigin, checkBearer } from "./request-guard.js";
import { ControlRefusedError, type DashboardSource } from "./source.js";
import { formatSseMessage, SSE_HEADERS, SSE_HEARTBEAT } from "./sse.js";
import { dashboardStatecharts } from "./statechart-model.js";
import { vendorAssets } from "./vendor-assets.js";

/** Options of {@link serveDashboard}. */
export interface DashboardOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Interface to bind: only `"127.0.0.1"` is accepted (the dashboard is local by design). */
  readonly host?: string;
  /** The control token (at least 16 characters from [A-Za-z0-9_-]); default 128 random bits in hex. */
  readonly token?: string;
  /**
   * Audit events, and points of each chart series (objective, parameters, twin), kept for clients
   * that connect later (default 2000 of each); the series are cut to a common start.
   */
  readonly historyLimit?: number;
  /** Period of the snapshot messages, ms (default 1000; from 10 to 2^31 − 1). */
  readonly snapshotEveryMs?: number;
  /** Period of the SSE heartbeat comments, ms (default 15 000; from 10 to 2^31 − 1). */
  readonly heartbeatEveryMs?: number;
  /**
   * Called with what the server skipped in the host's loop, where a throw would crash the host:
   * the source's view failing for a snapshot (`"snapshot"`) or at start (`"view"`), an audit event
   * or a twin point that could not be sent (`"event"`, `"twin"`). The server carries on either
   * way; what this handler throws is dropped. Default: none (skipped silently).
   */
  readonly onError?: (error: unknown, where: DashboardErrorSite) => void;
}

/** Where a failure {@link DashboardOptions.onError} hears of happened. */
export type DashboardErrorSite = "view" | "snapshot" | "event" | "twin";

/** A running dashboard server. */
export interface DashboardServer {
  /** The page's address, e.g. `http://127.0.0.1:43121/`. */
  readonly url: string;
  /** The bearer token control requests must carry. */
  readonly token: string;
  /** Event-stream clients currently connected. */
  readonly clients: number;
  /** Stops the server: ends every event stream, detaches from the source. Idempotent. */
  close(): Promise<void>;
}

/** Largest control request body accepted, bytes. */
const MAX_BODY_BYTES = 16 * 1024;
/** An event-stream client whose unsent output exceeds this is dropped (bounded memory). */
const MAX_CLIENT_BACKLOG = 4 * 1024 * 1024;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,}$/;

const PAGE_ASSETS: Readonly<Record<string, Asset>> = {
  "/": { type: "text/html; charset=utf-8", body: DASHBOARD_HTML },
  "/common.js": { type: "text/javascript; charset=utf-8", body: COMMON_SCRIPT },
  "/app.js": { type: "text/javascript; charset=utf-8", body: DASHBOARD_SCRIPT },
  "/app.css": { type: "text/css; charset=utf-8", body: DASHBOARD_CSS },
};

/**
 * Serves the dashboard of `input` on 127.0.0.1: the page, its event stream and its control
 * endpoints. Prints nothing.
 *
 * @example
 * ```ts
 * import { createEngine } from "arqon";
 * import { serveDashboard } from "arqon/node";
 *
 * const engine = createEngine({ seed: 1, params: { batchSize: { min: 1, max: 128, init: 16, maxDelta: 6 } } });
 * const dashboard = await serveDashboard({ engine, units: { objective: "ms" } });
 * console.log(`${dashboard.url}#token=${dashboard.token}`);
 * ```
 *
 * @remarks
 * `input` is a live engine (`{ engine }`, with optional `units`, `title` and an untuned `twin`),
 * one engine of a supervisor (`{ supervisor, name }`), a recording that is followed as it grows
 * (`{ log: path }`), a fleet coordinator of `arqon/redis` (`{ fleet: coordinator }`, which adds
 * the Fleet panel: fleet generation, leader, each replica's generation, lag and report age, bus
 * counters), or any {@link DashboardSource}. The page draws the objective against a measured
 * baseline (the twin's series, else the mean objective of the windows measured at the
 * baseline configuration), the parameters, the SafeMode timeline, the SPSA and SafeMode
 * statecharts with their active states, and the audit log. Everything it loads (uPlot included)
 * comes from this server: it works offline.
 *
 * Routes: `GET /` (page), `/common.js`, `/app.js`, `/app.css`, `/vendor/uPlot.iife.min.js`,
 * `/vendor/uPlot.min.css`, `/machines.json` (the statecharts), `GET /state` (JSON: view,
 * baseline, controls, fleet — a {@link FleetView}, or null for a source without a fleet —, and
 * the history: `events`, and the chart series `objective`, `samples`, `twin`, all from the same
 * start), `GET /events` (SSE: an `init` message with the same content, then an `audit`
 * message per event (id: its number among the events the server received, 1, 2, …, unique
 * where seqs start again in each run of a log), a `twin` message per twin point, `snapshot`
 * messages (view, baseline, sample, fleet) after events and every `snapshotEveryMs`, and
 * heartbeat comments),
 * and `POST /control/halt` `{reason}`, `/control/reset` `{acknowledge}`, `/control/rollback`
 * `{reason}` (`HEAD` of a page route or of `/events` answers its headers only).
 *
 * Every request must name this server in its Host header (`127.0.0.1:<port>` or
 * `localhost:<port>`), else 403: a page on another site cannot reach it through DNS rebinding.
 * Control requests also need `Authorization: Bearer <token>` (401 without, 403 wrong), an Origin,
 * if any, of this server (403), a JSON body (400 naming the field and the reason), and a live
 * source (409 for a recording, and for an engine that has been closed: `/state` then says
 * `controls: false`). They call the source's control methods, the engine's own audited path.
 *
 * Memory is bounded by `historyLimit` and by dropping event-stream clients that stop reading.
 *
 * @throws RangeError for a host other than 127.0.0.1, a bad port, a malformed token, a
 * `historyLimit`, `snapshotEveryMs` or `heartbeatEveryMs` out of range, an `onError` that is
 * not a function, an input of no known form, or a key that the options or the input's form do not
 * take; a `RecordingError` when a log cannot be read.
 */
export async function serveDashboard(
  input: DashboardInput,
  options: DashboardOptions = {},
): Promise<DashboardServer> {
  const unknown = unknownOptionKeys(options, DASHBOARD_OPTION_KEYS);
  if (unknown.length > 0)
    throw new RangeError(`serveDashboard: ${unknownOptionsText(unknown, DASHBOARD_OPTION_KEYS)}`);
  const requestedPort = options.port ?? 0;
  checkLocalOptions(options.host ?? "127.0.0.1", requestedPort);
  const token = options.token ?? randomBytes(16).toString("hex");
  if (!TOKEN_PATTERN.test(token))
    throw new RangeError("token must be at least 16 characters from A-Z, a-z, 0-9, _ and -");

  const snapshotEveryMs = timerPeriod("snapshotEveryMs", options.snapshotEveryMs ?? 1000);
  const heartbeatEveryMs = timerPeriod("heartbeatEveryMs", options.heartbeatEveryMs ?? 15_000);
  const onError = options.onError;
  if (onError !== undefined && typeof onError !== "function")
    throw new RangeError(`onError must be a function, got ${typeof onError}`);
  const shielded = (where: DashboardErrorSite, work: () => void) => shield(work, onError, where);
  const model = new DashboardModel(options.historyLimit ?? DEFAULT_HISTORY_LIMIT);
  let assets: Record<string, Asset> = PAGE_ASSETS;
  const { source, release } = await resolveDashboardInput(input);
  const clients = new Set<ServerResponse>();
  let snapshotPending: NodeJS.Immediate | undefined;
  let port = 0;

  const broadcast = (text: string) => {
    for (const client of clients) {
      if (client.writableLength > MAX_CLIENT_BACKLOG) {
        clients.delete(client);
        client.destroy();
      } else {
        client.write(text);
      }
    }
  };
  const fleetNow = () => source.fleetView?.() ?? null;
  const currentState = () => {
    const view = source.view();
    model.addSample(view);
    return { view, baseline: model.baseline(), controls: controllable(source), fleet: fleetNow() };
  };
  const history = () => ({
    events: model.events(),
    objective: model.objective(),
    samples: model.samples(),
    twin: model.twin(),
  });
  const sendSnapshot = () => {
    snapshotPending = undefined;
    // Run from a timer of the host's loop: a source that fails now (its view throws) costs this
    // snapshot only, as it costs `/state` a 500; the next one is tried again.
    shielded("snapshot", () => {
      const view = source.view();
      const sample = model.addSample(view);
      broadcast(
        formatSseMessage("snapshot", {
          view,
          baseline: model.baseline(),
          sample: sample ?? null,
          fleet: fleetNow(),
        }),
      );
    });
  };
  // Events come in bursts (a window close and its apply); one snapshot per burst is enough.
  const scheduleSnapshot = () => {
    snapshotPending ??= setImmediate(sendSnapshot);
  };

  // Audit messages are numbered by the server: seqs start again at 1 in each run a followed log
  // holds, and a stream's ids must not repeat.
  let auditId = 0;
  // The listeners run inside the source's emitter (an engine's audit drain, a recording's poll):
  // an event that cannot be sent (not serializable) is skipped there, not thrown into it. An event
  // that carries values also becomes a parameter sample; the page derives it from the event
  // itself, so it needs no message of its own.
  const detach = source.subscribe((event) =>
    shielded("event", () => {
      model.addEvent(event);
      auditId++;
      if (clients.size > 0) broadcast(formatSseMessage("audit", event, auditId));
      scheduleSnapshot();
    }),
  );
  const detachTwin =
    source.subscribeTwin?.((point) =>
      shielded("twin", () => {
        if (!Number.isFinite(point.time) || !Number.isFinite(point.value)) return;
        model.addTwin(point);
        if (clients.size > 0) broadcast(formatSseMessage("twin", point));
      }),
    ) ?? (() => {});
  // The values live now are those of the current generation: the baseline needs them when the
  // baseline was taken before any apply (a view that fails now leaves it to the next sample).
  shielded("view", () => model.addSample(source.view()));

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!allowedHost(req.headers.host, port)) return sendJson(res, 403, { error: "host not allowed" });
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.startsWith("/control/"))
      return void handleControl(req, res, path.slice("/control/".length)).catch(() => res.destroy());
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendJson(res, 405, { error: "method not allowed" });
    }
    const asset = assets[path];
    if (asset !== undefined) return sendAsset(res, asset, req.method === "HEAD");
    if (path === "/state") return sendJson(res, 200, { ...currentState(), ...history() });
    if (path === "/events") return openStream(req, res);
    if (path === "/favicon.ico") return void res.writeHead(204).end();
    sendJson(res, 404, { error: "not found" });
  };

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    // HEAD asks only whether the stream is there: its headers, no body, and no client to feed.
    if (req.method === "HEAD") return void res.writeHead(200, SSE_HEADERS).end();
    res.writeHead(200, SSE_HEADERS);
    res.write("retry: 2000\n\n");
    res.write(formatSseMessage("init", { ...currentState(), ...history() }));
    clients.add(res);
    const forget = () => clients.delete(res);
    req.on("close", forget);
    res.on("error", forget);
  };

  const handleControl = async (req: IncomingMessage, res: ServerResponse, name: string) => {
    if (!isControlAction(name)) return sendJson(res, 404, { error: "unknown control action" });
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return sendJson(res, 405, { error: "method not allowed" });
    }
    if (!allowedOrigin(req.headers.origin, port)) return sendJson(res, 403, { error: "origin not allowed" });
    const auth = checkBearer(req.headers.authorization, token);
    if (auth === 401) {
      res.setHeader("www-authenticate", 'Bearer realm="arqon-dashboard"');
      return sendJson(res, 401, { error: "missing bearer token" });
    }
    if (auth === 403) return sendJson(res, 403, { error: "wrong token" });
    const control = source.control;
    if (control === undefined)
      return sendJson(res, 409, { error: "this dashboard shows a recording; it has no engine to control" });
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    const parsed = parseControlBody(name, body);
    if (isBodyProblem(parsed)) return sendJson(res, 400, { error: "bad request body", ...parsed });
    // Checked after the body was read: the engine may have closed meanwhile.
    if (!controllable(source))
      return sendJson(res, 409, { error: "the engine is closed; there is nothing to control" });
    let result: Record<string, unknown>;
    try {
      result = perform(control, parsed);
    } catch (error) {
      if (error instanceof ControlRefusedError) return sendJson(res, 409, { error: error.message });
      return sendJson(res, 500, { error: `control action failed: ${errorMessage(error)}` });
    }
    const state = currentState();
    sendJson(res, 200, { action: name satisfies ControlAction, ...result, view: state.view });
    scheduleSnapshot();
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: errorMessage(error) });
      else res.destroy();
    }
  });
  try {
    // Read after subscribing: an engine's events are a hot stream, and its first ones (the
    // baseline) must not pass while the files load.
    assets = {
      ...PAGE_ASSETS,
      ...(await vendorAssets()),
      "/machines.json": {
        type: "application/json; charset=utf-8",
        body: JSON.stringify(dashboardStatecharts()),
      },
    };
    port = await listenLocal(server, requestedPort);
  } catch (error) {
    detach();
    detachTwin();
    await release();
    throw error;
  }

  const snapshotTimer = setInterval(() => {
    if (clients.size > 0) scheduleSnapshot();
  }, snapshotEveryMs);
  const heartbeatTimer = setInterval(() => broadcast(SSE_HEARTBEAT), heartbeatEveryMs);
  snapshotTimer.unref();
  heartbeatTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/`,
    token,
    get clients() {
      return clients.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(snapshotTimer);
        clearInterval(heartbeatTimer);
        if (snapshotPending !== undefined) clearImmediate(snapshotPending);
        detach();
        detachTwin();
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => void release().then(resolve, resolve));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Longest period a Node timer takes; a longer one (or a non-finite one) fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Shortest period accepted: shorter ones would flood every client with messages. */
const MIN_TIMER_MS = 10;

/** `value` as the period of the server's timer `name`; a RangeError outside [10, 2^31 − 1] ms. */
function timerPeriod(name: string, value: number): number {
  if (!(value >= MIN_TIMER_MS && value <= MAX_TIMER_MS))
    throw new RangeError(`${name} must be a number in [${MIN_TIMER_MS}, ${MAX_TIMER_MS}], got ${value}`);
  return value;
}

/**
 * Runs `work`, handing what it throws to `onError` instead: for work done in the host's loop
 * (timers, a source's emitter), where a throw would crash the host. Requests report their
 * failures themselves (500).
 */
function shield(work: () => void, onError: DashboardOptions["onError"], where: DashboardErrorSite): void {
  try {
    work();
  } catch (error) {
    // Skipped: the next event or snapshot is tried afresh.
    try {
      onError?.(error, where);
    } catch {
      // The handler's own failure must not reach the host's loop either.
    }
  }
}

/** Whether `source` takes control requests now: it has controls and its engine is not closed. */
function controllable(source: DashboardSource): boolean {
  const control = source.control;
  return control !== undefined && control.isClosed?.() !== true;
}

/** Runs a validated control request against the source's control methods. */
function perform(
  control: NonNullable<DashboardSource["control"]>,
  request: ControlRequest,
): Record<string, unknown> {
  switch (request.action) {
    case "halt":
      control.halt(request.reason);
      return { done: true };
    case "reset":
      return { done: control.resetSafeMode(request.acknowledge) };
    case "rollback":
      return { done: control.rollback(request.reason) };
  }
}

/** The request body as UTF-8 text, or undefined when it exceeds {@link MAX_BODY_BYTES}. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
