import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { type DashboardServer, serveDashboard } from "../src/dashboard/server.js";
import type { DashboardSource, DashboardView, TwinPoint } from "../src/dashboard/source.js";
import { parseSseChunk, type SseMessage } from "../src/dashboard/sse.js";

// A source's callbacks run inside the host's own loop (a timer, the engine's audit drain): when
// one of them fails, the server skips what it could not build and keeps serving; it never throws
// into the host.

const servers: DashboardServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const view = (generation: number): DashboardView => ({
  source: "live",
  title: "t",
  names: [],
  time: 0,
  generation,
  values: null,
  mode: "normal",
  reasons: [],
  phase: null,
  statechart: {},
  iteration: null,
  units: {},
});

/** A source whose view fails while `failing` is set, and whose events and twin points the test emits. */
function flakySource() {
  const state = { failing: false, generation: 0 };
  let onEvent: ((event: AuditEvent) => void) | undefined;
  let onTwin: ((point: TwinPoint) => void) | undefined;
  const source: DashboardSource = {
    view: () => {
      if (state.failing) throw new Error("backend briefly unavailable");
      return view(state.generation);
    },
    subscribe(listener) {
      onEvent = listener;
      return () => {
        onEvent = undefined;
      };
    },
    subscribeTwin(listener) {
      onTwin = listener;
      return () => {
        onTwin = undefined;
      };
    },
  };
  return {
    source,
    state,
    emit: (event: AuditEvent) => onEvent?.(event),
    emitTwin: (point: TwinPoint) => onTwin?.(point),
  };
}

const event = (seq: number, extra: object = {}) =>
  ({
    v: AUDIT_SCHEMA_VERSION,
    runId: "r",
    seq,
    time: seq,
    generation: 0,
    proposalId: -1,
    type: "baseline.set",
    ...extra,
  }) as AuditEvent;

/** Opens `/events`; `waitFor` resolves with the first message (from the `from`-th on) that matches. */
function openStream(url: string) {
  const messages: SseMessage[] = [];
  type Waiter = { match: (m: SseMessage) => boolean; from: number; done: (m: SseMessage) => void };
  const waiters: Waiter[] = [];
  const find = (w: Omit<Waiter, "done">) => messages.slice(w.from).find(w.match);
  const req = request(new URL("events", url), (res) => {
    res.setEncoding("utf8");
    let rest = "";
    res.on("data", (chunk: string) => {
      const parsed = parseSseChunk(rest + chunk);
      rest = parsed.rest;
      messages.push(...parsed.messages);
      for (const w of waiters.splice(0)) {
        const found = find(w);
        if (found !== undefined) w.done(found);
        else waiters.push(w);
      }
    });
  });
  req.on("error", () => {});
  req.end();
  const waitFor = (match: (m: SseMessage) => boolean, from = 0) =>
    new Promise<SseMessage>((done) => {
      const found = find({ match, from });
      if (found !== undefined) done(found);
      else waiters.push({ match, from, done });
    });
  return {
    messages,
    waitFor,
    /** The first `name` message after the `from`-th message. */
    next: (name: string, from = messages.length) => waitFor((m) => m.event === name, from),
    close: () => req.destroy(),
  };
}

const auditOf = (seq: number) => (m: SseMessage) =>
  m.event === "audit" && (JSON.parse(m.data) as AuditEvent).seq === seq;

/** Lets the immediates queued so far run (a burst's snapshot is sent on one). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function getState(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(new URL("state", url), (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

describe("a source that fails", () => {
  it("skips the snapshot its view cannot give and sends the next one", async () => {
    const flaky = flakySource();
    const server = await serveDashboard(flaky.source, { snapshotEveryMs: 10 });
    servers.push(server);
    const stream = openStream(server.url);
    await stream.next("init", 0);
    flaky.state.failing = true;
    // An event schedules a snapshot: building it fails, inside the server's own immediate.
    flaky.emit(event(1));
    await turn();
    await turn();
    expect(await getState(server.url)).toBe(500);
    flaky.state.failing = false;
    flaky.state.generation = 7;
    const from = stream.messages.length;
    const snapshot = await stream.next("snapshot", from);
    expect(JSON.parse(snapshot.data).view.generation).toBe(7);
    expect(await getState(server.url)).toBe(200);
    stream.close();
  });

  it("never throws into the source's emitter, for an event or a twin point it cannot send", async () => {
    const flaky = flakySource();
    const server = await serveDashboard(flaky.source);
    servers.push(server);
    const stream = openStream(server.url);
    await stream.next("init", 0);
    // JSON has no BigInt: the message cannot be written.
    expect(() => flaky.emit(event(1, { note: 1n }))).not.toThrow();
    expect(() => flaky.emitTwin({ time: 1, value: 2, note: 1n } as unknown as TwinPoint)).not.toThrow();
    flaky.state.failing = true;
    expect(() => flaky.emit(event(2))).not.toThrow();
    flaky.state.failing = false;
    // Still serving: the events after them arrive (the unsendable ones never do).
    flaky.emit(event(3));
    await stream.waitFor(auditOf(3));
    const seqs = stream.messages.filter((m) => m.event === "audit").map((m) => JSON.parse(m.data).seq);
    expect(seqs).toEqual([2, 3]);
    expect(stream.messages.some((m) => m.event === "twin")).toBe(false);
    stream.close();
  });

  it("reports each skipped failure to onError, with where it happened", async () => {
    const flaky = flakySource();
    const seen: [string, string][] = [];
    flaky.state.failing = true;
    const server = await serveDashboard(flaky.source, {
      onError: (error, where) => {
        seen.push([where, (error as Error).message]);
        throw new Error("a failing handler is dropped too");
      },
      // No periodic snapshot lands in the failing turns below: the one that fails there is the
      // snapshot the event schedules.
      snapshotEveryMs: 3_600_000,
    });
    servers.push(server);
    expect(seen).toEqual([["view", "backend briefly unavailable"]]);
    flaky.state.failing = false;
    const stream = openStream(server.url);
    await stream.next("init", 0);
    flaky.state.failing = true;
    flaky.emit(event(1));
    await turn();
    await turn();
    flaky.state.failing = false;
    expect(() => flaky.emit(event(2, { note: 1n }))).not.toThrow();
    expect(() => flaky.emitTwin({ time: 1, value: 2, note: 1n } as unknown as TwinPoint)).not.toThrow();
    expect(seen.map(([where]) => where)).toEqual(["view", "snapshot", "event", "twin"]);
    expect(seen[1]![1]).toBe("backend briefly unavailable");
    expect(seen[2]![1]).toMatch(/BigInt/);
    stream.close();
  });

  it("refuses an onError that is not a function", async () => {
    const flaky = flakySource();
    await expect(serveDashboard(flaky.source, { onError: "log" as unknown as () => void })).rejects.toThrow(
      /onError must be a function/,
    );
  });

  it("starts even when the first view fails", async () => {
    const flaky = flakySource();
    flaky.state.failing = true;
    const server = await serveDashboard(flaky.source);
    servers.push(server);
    flaky.state.failing = false;
    expect(await getState(server.url)).toBe(200);
  });
});
