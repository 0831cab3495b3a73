import type { InspectionEvent } from "xstate";
import type { InspectionSink } from "./inspection-record.js";
import { importOptionalPeer } from "./optional-peer.js";
import { stringifySafe } from "./safe-json.js";

/** Options of {@link createStatelyInspector}. */
export interface StatelyInspectorOptions {
  /**
   * WebSocket address of the inspector relay (default `"ws://127.0.0.1:8080"`). It must be a
   * loopback address (`localhost`, `127.x.x.x`, `::1`) unless `allowRemote` is true.
   */
  readonly url?: string;
  /** Allow a non-loopback `url`, i.e. send inspection data off this machine (default false). */
  readonly allowRemote?: boolean;
  /** Events kept while the relay is not connected; the oldest are dropped beyond it (default 200). */
  readonly maxDeferredEvents?: number;
  /** Delay before reconnecting after the relay went away, ms (default 1000). */
  readonly reconnectMs?: number;
  /** Depth limit of the snapshot serialisation done by `@statelyai/inspect` (default 10). */
  readonly serializationDepthLimit?: number;
  /** Replaces an actor's context before it is sent (e.g. to drop secrets). */
  readonly sanitizeContext?: (context: Record<string, unknown>) => Record<string, unknown>;
  /** Replaces an event before it is sent. */
  readonly sanitizeEvent?: (event: { type: string }) => { type: string };
}

/** An inspection sink feeding the Stately inspector UI over a local WebSocket relay. */
export interface StatelyInspector {
  /** The sink to pass as `inspect`. */
  readonly inspect: InspectionSink;
  /** The relay address in use. */
  readonly url: string;
  /** Whether the WebSocket to the relay is open. */
  readonly connected: boolean;
  /** Disconnects, cancels any reconnect and drops deferred events. */
  close(): void;
}

/** What this module uses of `@statelyai/inspect` (declared here so arqon's types never need it). */
interface StatelyModule {
  createInspector(
    adapter: { start(): void; stop(): void; send(event: object): void },
    options?: object,
  ): { inspect: { next?: (event: InspectionEvent) => void }; start(): void; stop(): void };
}

/** The part of the WebSocket API this module uses (browser `WebSocket` and the `ws` package agree on it). */
interface SocketLike {
  readonly readyState: number;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: (() => void) | null;
  send(data: string): void;
  close(): void;
}
type SocketConstructor = new (url: string) => SocketLike;

const OPEN = 1;
const WS_PACKAGE: string = "ws";
const LOOPBACK_HOSTS = new Set(["localhost", "[::1]", "::1"]);

/** Whether `url` is a ws:/wss: address on this machine. */
export function isLoopbackWebSocketUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") return false;
  const host = parsed.hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The WebSocket class: the platform's, else the `ws` package (which `@statelyai/inspect` depends on). */
async function socketConstructor(): Promise<SocketConstructor> {
  const platform = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (typeof platform === "function") return platform;
  const ws = await importOptionalPeer(
    "ws",
    "createStatelyInspector (on a Node without a global WebSocket)",
    // A computed specifier: bundlers must not pull Node's `ws` into a browser build (browsers
    // have a WebSocket and never get here).
    () =>
      import(/* @vite-ignore */ WS_PACKAGE) as Promise<{
        default?: SocketConstructor;
        WebSocket?: SocketConstructor;
      }>,
  );
  const ctor = ws.WebSocket ?? ws.default;
  if (typeof ctor !== "function") throw new Error('the "ws" package did not export a WebSocket class');
  return ctor;
}

/**
 * A relay connection that stays on this machine unless told otherwise, buffers while disconnected
 * and reconnects on an unref'd timer, so it never keeps a process alive and stops for good on close.
 */
class RelayConnection {
  private socket: SocketLike | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly deferred: string[] = [];
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly Socket: SocketConstructor,
    private readonly maxDeferred: number,
    private readonly reconnectMs: number,
  ) {}

  get connected(): boolean {
    return this.socket?.readyState === OPEN;
  }

  start(): void {
    if (this.stopped || this.socket !== undefined) return;
    let socket: SocketLike;
    try {
      socket = new this.Socket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      for (const line of this.deferred.splice(0)) socket.send(line);
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = undefined;
      this.scheduleReconnect();
    };
    // An error is followed by close; reconnecting is handled there.
    socket.onerror = () => {};
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.deferred.length = 0;
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) {
      socket.onclose = null;
      socket.onopen = null;
      socket.close();
    }
  }

  send(event: object): void {
    if (this.stopped) return;
    const line = stringifySafe(event, { maxDepth: 64 });
    if (this.socket?.readyState === OPEN) {
      this.socket.send(line);
      return;
    }
    this.deferred.push(line);
    if (this.deferred.length > this.maxDeferred) this.deferred.shift();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry !== undefined) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start();
    }, this.reconnectMs);
    (this.retry as { unref?: () => void }).unref?.();
  }
}

/**
 * Creates an inspection sink that sends XState inspection events, in the format of
 * `@statelyai/inspect`, to a Stately inspector relay over a WebSocket.
 *
 * @remarks
 * `@statelyai/inspect` is an optional peer: it is loaded with a dynamic `import()` when this is
 * called, and a {@link MissingPeerError} naming it is thrown if it is not installed; arqon works
 * without it. Privacy by default: nothing is opened (no browser, no server) and the sink only
 * connects to a loopback address (`ws://127.0.0.1:8080` by default); any other address is refused
 * unless `allowRemote: true`. The relay and the page showing the UI are yours to run, e.g. the
 * relay from `@statelyai/inspect/server` started with `autoOpen: false` (note that it listens on
 * every interface and that its page loads the hosted Stately UI). Events are converted by
 * `@statelyai/inspect` after a `setTimeout(0)`, so a snapshot is serialised a moment after it
 * happened; arqon keeps numeric state (typed arrays) out of machine context, so this changes
 * nothing for its own actors. While the relay is away, up to `maxDeferredEvents` events are
 * kept, and the sink reconnects every `reconnectMs` on a timer that never keeps the process alive.
 *
 * @example
 * ```ts
 * const stately = await createStatelyInspector();
 * const engine = createEngine({ ...config, inspect: stately.inspect });
 * // …
 * await engine.close();
 * stately.close();
 * ```
 */
export async function createStatelyInspector(
  options: StatelyInspectorOptions = {},
): Promise<StatelyInspector> {
  const url = options.url ?? "ws://127.0.0.1:8080";
  if (!options.allowRemote && !isLoopbackWebSocketUrl(url)) {
    throw new RangeError(
      `createStatelyInspector: ${JSON.stringify(url)} is not a loopback ws:// address; ` +
        "pass allowRemote: true to send inspection data off this machine",
    );
  }
  const stately = await importOptionalPeer(
    "@statelyai/inspect",
    "createStatelyInspector",
    () => import("@statelyai/inspect") as unknown as Promise<StatelyModule>,
  );
  const Socket = await socketConstructor();
  const relay = new RelayConnection(
    url,
    Socket,
    options.maxDeferredEvents ?? 200,
    options.reconnectMs ?? 1000,
  );
  const inspector = stately.createInspector(relay, {
    autoStart: false,
    ...(options.serializationDepthLimit === undefined
      ? {}
      : { serializationDepthLimit: options.serializationDepthLimit }),
    ...(options.sanitizeContext === undefined ? {} : { sanitizeContext: options.sanitizeContext }),
    ...(options.sanitizeEvent === undefined ? {} : { sanitizeEvent: options.sanitizeEvent }),
  });
  inspector.start();
  let closed = false;
  return {
    inspect: (event) => {
      if (closed) return;
      try {
        inspector.inspect.next?.(event);
      } catch {
        // Inspection must never break the actor being inspected.
      }
    },
    url,
    get connected() {
      return relay.connected;
    },
    close() {
      closed = true;
      inspector.stop();
    },
  };
}
