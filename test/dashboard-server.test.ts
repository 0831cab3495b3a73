import { request } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { engineSource } from "../src/dashboard/engine-source.js";
import { recordedSource } from "../src/dashboard/recorded-source.js";
import { type DashboardServer, serveDashboard } from "../src/dashboard/server.js";
import { parseSseChunk, type SseMessage } from "../src/dashboard/sse.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { ManualClock } from "./support/engine-clock.js";

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with full control of the headers (fetch would not let a test forge Host). */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** An open event stream: every message so far, and a way to wait for one. */
interface Stream {
  readonly messages: SseMessage[];
  readonly raw: () => string;
  waitFor(predicate: (m: SseMessage) => boolean): Promise<SseMessage>;
  close(): void;
}

function openStream(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(new URL("events", url), (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
      res.setEncoding("utf8");
      const messages: SseMessage[] = [];
      let raw = "";
      let rest = "";
      const waiters: { predicate: (m: SseMessage) => boolean; done: (m: SseMessage) => void }[] = [];
      res.on("data", (chunk: string) => {
        raw += chunk;
        const parsed = parseSseChunk(rest + chunk);
        rest = parsed.rest;
        for (const message of parsed.messages) {
          messages.push(message);
          for (const waiter of waiters.splice(0)) {
            if (waiter.predicate(message)) waiter.done(message);
            else waiters.push(waiter);
          }
        }
      });
      resolve({
        messages,
        raw: () => raw,
        waitFor: (predicate) => {
          const found = messages.find(predicate);
          if (found !== undefined) return Promise.resolve(found);
          return new Promise((done) => waiters.push({ predicate, done }));
        },
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const auth = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
const json = (reply: Reply) => JSON.parse(reply.body) as Record<string, unknown>;
const isAudit = (type: string) => (m: SseMessage) =>
  m.event === "audit" && (JSON.parse(m.data) as AuditEvent).type === type;

const servers: DashboardServer[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const engine of engines.splice(0)) await engine.close();
});

async function serve(...args: Parameters<typeof serveDashboard>): Promise<DashboardServer> {
  const server = await serveDashboard(...args);
  servers.push(server);
  return server;
}

/** A live engine in virtual time with a dashboard attached. */
async function liveRig() {
  const clock = new ManualClock();
  const engine = createEngine({
    seed: 3,
    runId: "dash-test",
    params: { x: { min: 0, max: 10, init: 5, maxDelta: 1 }, y: { min: 1, max: 100, init: 10, scale: "log" } },
    window: { digests: 3 },
    scheduler: clock,
  });
  engines.push(engine);
  const server = await serve(engineSource(engine));
  /** Feeds `n` digests, one per ms, and delivers the audit events they caused. */
  const feed = (n: number) => {
    for (let i = 0; i < n; i++) {
      engine.observe({ objective: 10 + i, generation: engine.generation, timestamp: engine.now() });
      clock.advanceBy(1);
    }
    engine.flushEvents();
  };
  return { clock, engine, server, feed };
}

const recorded: AuditEvent[] = Array.from({ length: 12 }, (_, i) => ({
  v: AUDIT_SCHEMA_VERSION,
  runId: "rec",
  seq: i + 1,
  time: i * 100,
  generation: i,
  proposalId: i,
  type: "apply",
  kind: "plus",
}));

describe("serveDashboard", () => {
  it("binds 127.0.0.1 only and refuses a malformed token", async () => {
    const source = recordedSource(recorded, "r");
    await expect(serveDashboard(source, { host: "0.0.0.0" })).rejects.toThrow(/127\.0\.0\.1 only/);
    await expect(serveDashboard(source, { token: "short" })).rejects.toThrow(/token/);
    const server = await serve(source);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.token).toMatch(/^[0-9a-f]{32}$/); // 128 random bits
    const other = await serve(source);
    expect(other.token).not.toBe(server.token);
  });

  it("serves the page and its assets with a strict content security policy", async () => {
    const server = await serve(recordedSource(recorded, "r"));
    const page = await send(server.url);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="objective-chart"');
    // Everything the page loads comes from this server (offline): no absolute URL anywhere.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    const uplot = await send(new URL("vendor/uPlot.iife.min.js", server.url).href);
    expect(uplot.status).toBe(200);
    expect(uplot.body).toContain("uPlot");
    expect((await send(new URL("vendor/uPlot.min.css", server.url).href)).body).toContain(".uplot");
    expect((await send(new URL("common.js", server.url).href)).body).toContain("arqonCharts");
    const machines = JSON.parse((await send(new URL("machines.json", server.url).href)).body);
    expect(machines.map((m: { actor: string }) => m.actor)).toEqual(["spsa", "safeMode"]);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect((await send(new URL("app.js", server.url).href)).body).toContain("EventSource");
    expect((await send(new URL("app.css", server.url).href)).headers["content-type"]).toMatch(/^text\/css/);
    expect((await send(new URL("nope", server.url).href)).status).toBe(404);
    expect((await send(server.url, { method: "DELETE" })).status).toBe(405);
  });

  it("answers only requests addressed to its own host (DNS rebinding)", async () => {
    const server = await serve(recordedSource(recorded, "r"));
    const port = new URL(server.url).port;
    expect((await send(server.url, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    const rebound = await send(new URL("state", server.url).href, {
      headers: { host: `evil.example:${port}` },
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain("rec");
    expect((await send(server.url, { headers: { host: "127.0.0.1:1" } })).status).toBe(403);
  });

  it("keeps only the latest events for late clients (bounded history)", async () => {
    const server = await serve(recordedSource(recorded, "r"), { historyLimit: 5 });
    const state = json(await send(new URL("state", server.url).href));
    expect((state.events as AuditEvent[]).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(state.controls).toBe(false);
    expect(state.view).toMatchObject({ source: "recorded", generation: 11 });
  });
});

describe("event stream", () => {
  it("sends an init dump, then each audit event (numbered: its seq, the server saw all) and snapshots, framed as SSE", async () => {
    const { server, feed, engine } = await liveRig();
    feed(3);
    const stream = await openStream(server.url);
    const init = await stream.waitFor((m) => m.event === "init");
    const dump = JSON.parse(init.data);
    expect(dump.controls).toBe(true);
    expect(dump.view).toMatchObject({ source: "live", names: ["x", "y"], mode: "normal" });
    expect(dump.view.statechart).toHaveProperty("spsa");
    expect(dump.events.map((e: AuditEvent) => e.type)).toContain("window.closed");
    // The one window measured at the baseline configuration so far: mean of 10, 11, 12.
    expect(dump.baseline).toEqual({ value: 11, windows: 1, generation: 0 });

    feed(3);
    const audit = await stream.waitFor(isAudit("window.closed"));
    const event = JSON.parse(audit.data) as AuditEvent;
    expect(audit.id).toBe(String(event.seq));
    expect(event.seq).toBeGreaterThan(Math.max(...dump.events.map((e: AuditEvent) => e.seq)));
    const snapshot = await stream.waitFor((m) => m.event === "snapshot");
    expect(JSON.parse(snapshot.data).view.generation).toBe(engine.generation);
    // Every message is a complete block: field lines, then one blank line.
    expect(stream.raw()).toMatch(/^retry: 2000\n\nevent: init\ndata: \{.*\}\n\n/);
    expect(stream.raw()).toContain(`event: audit\nid: ${event.seq}\ndata: `);
    stream.close();
  });

  it("keeps idle streams alive with heartbeat comments and periodic snapshots", async () => {
    const server = await serve(recordedSource(recorded, "r"), { heartbeatEveryMs: 10, snapshotEveryMs: 10 });
    const stream = await openStream(server.url);
    await stream.waitFor((m) => m.event === "snapshot");
    await vi.waitFor(() => expect(stream.raw()).toContain("\n: heartbeat\n\n"), { timeout: 10_000 });
    // Comments are not messages: every parsed message is a named event with JSON data.
    for (const message of stream.messages) expect(() => JSON.parse(message.data)).not.toThrow();
    stream.close();
  });

  it("forgets a client that disconnects", async () => {
    const { server } = await liveRig();
    const stream = await openStream(server.url);
    await stream.waitFor((m) => m.event === "init");
    expect(server.clients).toBe(1);
    stream.close();
    for (let i = 0; i < 1000 && server.clients > 0; i++) await new Promise((r) => setImmediate(r));
    expect(server.clients).toBe(0);
  });

  it("answers HEAD /events with the stream's headers only, and counts no client", async () => {
    const server = await serve(recordedSource(recorded, "r"));
    const reply = await send(new URL("events", server.url).href, { method: "HEAD" });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(reply.body).toBe("");
    expect(server.clients).toBe(0);
  });

  it("ends every stream when the server closes", async () => {
    const server = await serveDashboard(recordedSource(recorded, "r"));
    const stream = await openStream(server.url);
    await stream.waitFor((m) => m.event === "init");
    await server.close();
    expect(server.clients).toBe(0);
    await server.close(); // idempotent
  });
});

describe("control endpoints", () => {
  it("need the bearer token: 401 without, 403 wrong, 403 from another origin", async () => {
    const { server, engine } = await liveRig();
    const halt = new URL("control/halt", server.url).href;
    const body = JSON.stringify({ reason: "x" });
    const missing = await send(halt, { method: "POST", body });
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect((await send(halt, { method: "POST", headers: auth("f".repeat(32)), body })).status).toBe(403);
    const crossSite = await send(halt, {
      method: "POST",
      headers: { ...auth(server.token), origin: "http://evil.example" },
      body,
    });
    expect(crossSite.status).toBe(403);
    expect(engine.mode).toBe("normal");
  });

  it("answer 400 naming the field and reason of a bad body, 404/405 for unknown routes", async () => {
    const { server, engine } = await liveRig();
    const post = (action: string, body: string) =>
      send(new URL(`control/${action}`, server.url).href, {
        method: "POST",
        headers: auth(server.token),
        body,
      });
    const bad = await post("halt", "{}");
    expect(bad.status).toBe(400);
    expect(json(bad)).toMatchObject({ field: "reason", reason: "required, a string" });
    expect(json(await post("reset", "not json"))).toMatchObject({
      field: "(body)",
      reason: "not valid JSON",
    });
    expect(json(await post("rollback", '{"reason":"x","extra":1}'))).toMatchObject({ field: "extra" });
    expect((await post("launch", "{}")).status).toBe(404);
    expect((await send(new URL("control/halt", server.url).href)).status).toBe(405);
    expect((await post("halt", JSON.stringify({ reason: "x".repeat(20_000) }))).status).toBe(413);
    expect(engine.mode).toBe("normal");
  });

  it("answer 409 for a recording, which has no engine to control", async () => {
    const server = await serve(recordedSource(recorded, "r"));
    const reply = await send(new URL("control/halt", server.url).href, {
      method: "POST",
      headers: auth(server.token),
      body: JSON.stringify({ reason: "x" }),
    });
    expect(reply.status).toBe(409);
  });

  it("answer 409 once the engine is closed, and /state no longer offers controls", async () => {
    const { server, engine } = await liveRig();
    const state = async () => json(await send(new URL("state", server.url).href));
    expect(await state()).toMatchObject({ controls: true });
    await engine.close();
    for (const [action, body] of [
      ["halt", { reason: "stop it" }],
      ["reset", { acknowledge: "ops" }],
      ["rollback", { reason: "back" }],
    ] as const) {
      const reply = await send(new URL(`control/${action}`, server.url).href, {
        method: "POST",
        headers: auth(server.token),
        body: JSON.stringify(body),
      });
      expect(reply.status).toBe(409);
      expect(json(reply).error).toMatch(/engine is closed/);
    }
    expect(engine.snapshot().mode).toBe("normal");
    expect(await state()).toMatchObject({ controls: false });
  });

  it("halt, reset and rollback go through the engine's audited path and show on the stream", async () => {
    const { server, engine, feed } = await liveRig();
    feed(9);
    const stream = await openStream(server.url);
    await stream.waitFor((m) => m.event === "init");
    const post = (action: string, body: object) =>
      send(new URL(`control/${action}`, server.url).href, {
        method: "POST",
        headers: { ...auth(server.token), origin: server.url.slice(0, -1) },
        body: JSON.stringify(body),
      });

    const halted = await post("halt", { reason: "operator saw a spike" });
    expect(halted.status).toBe(200);
    expect(json(halted)).toMatchObject({ action: "halt", done: true, view: { mode: "halted" } });
    expect(engine.snapshot().mode).toBe("halted");
    const change = JSON.parse((await stream.waitFor(isAudit("mode.changed"))).data);
    expect(change).toMatchObject({ from: "normal", to: "halted", note: "operator saw a spike" });
    expect(change.reasons).toContain("manualHalt");
    const snap = await stream.waitFor(
      (m) => m.event === "snapshot" && JSON.parse(m.data).view.mode === "halted",
    );
    expect(JSON.parse(snap.data).view.reasons).toContain("manualHalt");

    const generation = engine.generation;
    const rolledBack = await post("rollback", { reason: "back to the known-good config" });
    expect(json(rolledBack)).toMatchObject({ action: "rollback", done: true });
    expect(engine.generation).toBe(generation + 1);
    await stream.waitFor(isAudit("rollback"));

    const reset = await post("reset", { acknowledge: "ops on call" });
    expect(json(reset)).toMatchObject({ action: "reset", done: true, view: { mode: "normal" } });
    expect(engine.mode).toBe("normal");
    await stream.waitFor((m) => isAudit("mode.changed")(m) && JSON.parse(m.data).to === "normal");
    expect(json(await post("reset", { acknowledge: "again" }))).toMatchObject({ done: false });
    stream.close();
  });
});
