import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { assign, createActor, setup } from "xstate";
import { importOptionalPeer } from "../src/inspect/optional-peer.js";
import { createStatelyInspector, isLoopbackWebSocketUrl, MissingPeerError } from "../src/inspect/stately.js";

/** The part of the `ws` package's server this test uses (the package ships no types here). */
interface RelayServer {
  address(): AddressInfo;
  on(
    event: "connection",
    listener: (socket: { on(event: "message", l: (data: unknown) => void): void }) => void,
  ): void;
  on(event: "listening", listener: () => void): void;
  close(callback: () => void): void;
}

/** A WebSocket server on 127.0.0.1 standing in for the Stately relay; collects what it receives. */
async function startRelay(
  port = 0,
): Promise<{ url: string; port: number; messages: unknown[]; close: () => Promise<void> }> {
  const ws = (await import("ws" as string)) as {
    WebSocketServer: new (options: { host: string; port: number }) => RelayServer;
  };
  const server = new ws.WebSocketServer({ host: "127.0.0.1", port });
  await new Promise<void>((resolve) => server.on("listening", resolve));
  const messages: unknown[] = [];
  server.on("connection", (socket) =>
    socket.on("message", (data) => messages.push(JSON.parse(String(data)))),
  );
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    port: server.address().port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const toggle = setup({ types: { events: {} as { type: "flip" } } }).createMachine({
  id: "toggle",
  initial: "off",
  states: { off: { on: { flip: "on" } }, on: { on: { flip: "off" } } },
});

describe("createStatelyInspector", () => {
  it("sends @statelyai/inspect events to a local relay (events before the connection are kept)", async () => {
    const relay = await startRelay();
    const stately = await createStatelyInspector({ url: relay.url });
    try {
      const actor = createActor(toggle, { inspect: stately.inspect }).start();
      actor.send({ type: "flip" });
      const isOnSnapshot = (m: unknown) => {
        const e = m as { type?: string; snapshot?: { value?: unknown } };
        return e.type === "@xstate.snapshot" && e.snapshot?.value === "on";
      };
      await until(() => relay.messages.some(isOnSnapshot), "the snapshot in state on");
      expect(stately.connected).toBe(true);
      const actorEvent = relay.messages.find((m) => (m as { type: string }).type === "@xstate.actor") as {
        name: string;
        sessionId: string;
        definition: string;
      };
      expect(actorEvent.sessionId).toBe(actor.sessionId);
      expect(JSON.parse(actorEvent.definition).id).toBe("toggle");
      expect(relay.messages.some((m) => (m as { event?: { type?: string } }).event?.type === "flip")).toBe(
        true,
      );
      actor.stop();
    } finally {
      stately.close();
      await relay.close();
    }
    expect(stately.connected).toBe(false);
  });

  it("refuses a non-loopback address unless allowRemote is set", async () => {
    await expect(createStatelyInspector({ url: "ws://inspector.example.com:8080" })).rejects.toThrow(
      /not a loopback ws:\/\/ address.*allowRemote/,
    );
    expect(isLoopbackWebSocketUrl("ws://localhost:8080")).toBe(true);
    expect(isLoopbackWebSocketUrl("ws://127.0.0.2:9")).toBe(true);
    expect(isLoopbackWebSocketUrl("ws://[::1]:8080")).toBe(true);
    expect(isLoopbackWebSocketUrl("wss://10.0.0.1:8080")).toBe(false);
    expect(isLoopbackWebSocketUrl("http://localhost:8080")).toBe(false);
    expect(isLoopbackWebSocketUrl("not a url")).toBe(false);
  });

  it("keeps events while the relay is away and delivers them once it is back", async () => {
    const gone = await startRelay();
    await gone.close();
    const stately = await createStatelyInspector({ url: gone.url, reconnectMs: 20 });
    try {
      const actor = createActor(toggle, { inspect: stately.inspect }).start();
      actor.send({ type: "flip" });
      expect(actor.getSnapshot().value).toBe("on");
      await new Promise((r) => setTimeout(r, 60));
      expect(stately.connected).toBe(false);
      const back = await startRelay(gone.port);
      try {
        await until(() => back.messages.length >= 3, "the deferred events");
        expect(back.messages.map((m) => (m as { type: string }).type)).toContain("@xstate.actor");
      } finally {
        actor.stop();
        stately.close();
        await back.close();
      }
    } finally {
      stately.close();
    }
  });

  it("stops reconnecting once closed", async () => {
    const gone = await startRelay();
    await gone.close();
    const stately = await createStatelyInspector({ url: gone.url, reconnectMs: 20 });
    const actor = createActor(toggle, { inspect: stately.inspect }).start();
    await new Promise((r) => setTimeout(r, 60));
    stately.close();
    actor.send({ type: "flip" });
    const back = await startRelay(gone.port);
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(back.messages).toEqual([]);
      expect(stately.connected).toBe(false);
    } finally {
      actor.stop();
      await back.close();
    }
  });
});

/**
 * A WebSocket stand-in (the sink uses the platform's WebSocket when there is one): it opens when
 * told to and keeps what it was sent, so these tests need neither a relay nor a wait.
 */
class FakeSocket {
  static last: FakeSocket | undefined;
  readyState = 0;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];

  constructor(readonly url: string) {
    FakeSocket.last = this;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(): void {
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
}

interface SentSnapshot {
  type: string;
  event: { type: string } & Record<string, unknown>;
  snapshot: { value: unknown; context: Record<string, unknown> };
}

const counter = setup({
  types: {
    context: {} as { n: number; secret: string },
    events: {} as { type: "inc"; token?: string },
  },
}).createMachine({
  id: "counter",
  context: { n: 0, secret: "s3cret" },
  on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
});

/**
 * Starts a sink on a fake socket, with fake timers from then on (the library converts events in
 * a setTimeout(0)); `deliver()` runs those timers (a throw in one fails the test), opens the
 * socket and returns what it was sent.
 */
async function fakeRelaySink(options: Parameters<typeof createStatelyInspector>[0] = {}) {
  vi.stubGlobal("WebSocket", FakeSocket);
  const stately = await createStatelyInspector({ reconnectMs: 60_000, ...options });
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  const socket = FakeSocket.last!;
  return {
    stately,
    deliver() {
      vi.runOnlyPendingTimers();
      socket.open();
      return socket.sent;
    },
    snapshots() {
      return socket.sent.filter((m) => m.type === "@xstate.snapshot") as unknown as SentSnapshot[];
    },
  };
}

describe("createStatelyInspector: inspection never breaks the process", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("survives a sanitizeContext that throws, sending a marker instead of the unsanitised context", async () => {
    const sink = await fakeRelaySink({
      sanitizeContext: (context) => {
        if ((context.n as number) > 0) throw new Error("sanitizer bug");
        return { n: context.n };
      },
    });
    const actor = createActor(counter, { inspect: sink.stately.inspect }).start();
    actor.send({ type: "inc" });
    expect(actor.getSnapshot().context.n).toBe(1);
    const sent = sink.deliver();
    expect(sink.snapshots().map((m) => m.snapshot.context)).toEqual([
      { n: 0 },
      { "@sanitizeContext": "[Throws]" },
    ]);
    expect(JSON.stringify(sent)).not.toContain("s3cret");
    actor.stop();
    sink.stately.close();
  });

  it("survives a sanitizeEvent that throws, sending the event's type and a marker", async () => {
    const sink = await fakeRelaySink({
      sanitizeEvent: (event) => {
        if (event.type === "inc") throw new Error("sanitizer bug");
        return event;
      },
    });
    const actor = createActor(counter, { inspect: sink.stately.inspect }).start();
    actor.send({ type: "inc", token: "t0ken" });
    const sent = sink.deliver();
    const incs = sent.filter((m) => (m.event as { type?: string } | undefined)?.type === "inc");
    expect(incs.map((m) => m.type)).toEqual(["@xstate.event", "@xstate.snapshot"]);
    for (const m of incs) expect(m.event).toEqual({ type: "inc", "@sanitizeEvent": "[Throws]" });
    expect(JSON.stringify(sent)).not.toContain("t0ken");
    actor.stop();
    sink.stately.close();
  });

  it("sends a context getter that throws as [Throws], as the JSONL sink does", async () => {
    const sink = await fakeRelaySink();
    const context = Object.defineProperty({ n: 0, secret: "" }, "bad", {
      enumerable: true,
      get() {
        throw new Error("getter throws");
      },
    });
    // No assign: XState itself would read the getter when copying the context.
    const machine = setup({}).createMachine({
      context,
      initial: "idle",
      states: { idle: { on: { inc: "busy" } }, busy: {} },
    });
    const actor = createActor(machine, { inspect: sink.stately.inspect }).start();
    actor.send({ type: "inc" });
    sink.deliver();
    const last = sink.snapshots().at(-1)!;
    expect(last.snapshot.value).toBe("busy");
    expect(last.snapshot.context).toEqual({ n: 0, secret: "", bad: "[Throws]" });
    actor.stop();
    sink.stately.close();
  });

  it("copies each event when it happens: a later in-place write to the context is not sent", async () => {
    const sink = await fakeRelaySink();
    const actor = createActor(counter, { inspect: sink.stately.inspect }).start();
    actor.send({ type: "inc" });
    // Context objects must not be written in place; one that is must not rewrite what was seen.
    (actor.getSnapshot().context as { n: number }).n = 99;
    sink.deliver();
    expect(sink.snapshots().map((m) => m.snapshot.context.n)).toEqual([0, 1]);
    actor.stop();
    sink.stately.close();
  });

  it("sends a context as deep as a serializationDepthLimit above 64 allows (it was cut at 61)", async () => {
    let deep: Record<string, unknown> = { leaf: "bottom" };
    for (let i = 0; i < 80; i++) deep = { d: deep };
    const nested = setup({}).createMachine({ id: "nested", context: { deep } });
    for (const limit of [Number.POSITIVE_INFINITY, 200]) {
      const sink = await fakeRelaySink({ serializationDepthLimit: limit });
      const actor = createActor(nested, { inspect: sink.stately.inspect }).start();
      sink.deliver();
      let node = sink.snapshots()[0]!.snapshot.context.deep as Record<string, unknown>;
      let levels = 0;
      for (; "d" in node; levels++) node = node.d as Record<string, unknown>;
      expect({ limit, levels, node }).toEqual({ limit, levels: 80, node: { leaf: "bottom" } });
      actor.stop();
      sink.stately.close();
      vi.useRealTimers();
    }
  });

  it("applies working sanitisers and keeps what the Stately UI reads (actor, definition, state, event)", async () => {
    const sink = await fakeRelaySink({
      sanitizeContext: ({ secret: _secret, ...rest }) => rest,
      sanitizeEvent: ({ type }) => ({ type }),
    });
    const actor = createActor(counter, { inspect: sink.stately.inspect }).start();
    actor.send({ type: "inc", token: "t0ken" });
    const sent = sink.deliver();
    expect(JSON.stringify(sent)).not.toMatch(/s3cret|t0ken/);
    const announced = sent.find((m) => m.type === "@xstate.actor") as {
      sessionId: string;
      name: string;
      definition: string;
      snapshot: { context: unknown };
    };
    expect(announced.sessionId).toBe(actor.sessionId);
    expect(JSON.parse(announced.definition).id).toBe("counter");
    // XState announces an actor before it has a snapshot: the one sent is read when converted.
    expect(announced.snapshot.context).toEqual({ n: 1 });
    // The machine's initial context, in its definition, is sanitised too.
    expect(JSON.parse(announced.definition).context).toEqual({ n: 0 });
    const last = sink.snapshots().at(-1)!;
    expect(last).toMatchObject({ sessionId: actor.sessionId, event: { type: "inc" } });
    expect(last.snapshot.context).toEqual({ n: 1 });
    expect(sent.some((m) => m.type === "@xstate.event" && (m.event as { type: string }).type === "inc")).toBe(
      true,
    );
    actor.stop();
    sink.stately.close();
  });
});

describe("optional peers", () => {
  it("names the package to install when it is missing", async () => {
    const missing = "arqon-test-no-such-package";
    const error = await importOptionalPeer(missing, "someFeature", () => import(missing as string)).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(MissingPeerError);
    expect((error as MissingPeerError).packageName).toBe(missing);
    expect((error as Error).message).toContain(`npm install ${missing}`);
  });

  it("rethrows any other loading failure as it is", async () => {
    const boom = new Error("syntax error in the package");
    await expect(importOptionalPeer("pkg", "feature", () => Promise.reject(boom))).rejects.toBe(boom);
  });
});
