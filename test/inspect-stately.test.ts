import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createActor, setup } from "xstate";
import { createStatelyInspector, isLoopbackWebSocketUrl, MissingPeerError } from "../src/inspect/index.js";
import { importOptionalPeer } from "../src/inspect/optional-peer.js";

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
