import type { InspectionEvent } from "xstate";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import type { InspectionSink } from "./inspection-record.js";
import { importOptionalPeer } from "./optional-peer.js";
import {
  checkCountOption,
  type JsonValue,
  type SafeJsonOptions,
  stringifySafe,
  toJsonSafe,
} from "./safe-json.js";

/** Options of {@link createStatelyInspector}. */
export interface StatelyInspectorOptions {
  /**
   * WebSocket address of the inspector relay (default `"ws://127.0.0.1:8080"`). It must be a
   * loopback address (`localhost`, `127.x.x.x`, `::1`) unless `allowRemote` is true.
   */
  readonly url?: string;
  /** Allow a non-loopback `url`, i.e. send inspection data off this machine (default false). */
  readonly allowRemote?: boolean;
  /**
   * Events kept while the relay is not connected; the oldest are dropped beyond it. A whole
   * number ≥ 0 or Infinity (default 200); 0 keeps none.
   */
  readonly maxDeferredEvents?: number;
  /**
   * Delay before reconnecting after the relay went away, ms (default 1000): from 10 (less would
   * retry in a busy loop) to 2147483647 (setTimeout runs a longer delay after 1 ms).
   */
  readonly reconnectMs?: number;
  /** Depth limit of the snapshot serialisation done by `@statelyai/inspect`: a whole number ≥ 1 or Infinity (default 10). */
  readonly serializationDepthLimit?: number;
  /**
   * Replaces an actor's context before it is sent (e.g. to drop secrets). Called when the event
   * happens, for each snapshot whose context is an object (for an actor's announcement, when it
   * is sent: XState announces an actor before its first snapshot), and once per machine for the
   * initial context written in its definition. When it throws, the context is sent as
   * `{ "@sanitizeContext": "[Throws]" }` (never unsanitised) and the actor is not disturbed.
   */
  readonly sanitizeContext?: (context: Record<string, unknown>) => Record<string, unknown>;
  /**
   * Replaces an event before it is sent. Called when the event happens; when it throws, the event
   * is sent as `{ type, "@sanitizeEvent": "[Throws]" }` and the actor is not disturbed.
   */
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
/** A refused connection fails within a millisecond: below this, reconnecting is a busy loop. */
const MIN_RECONNECT_MS = 10;
/** The longest delay setTimeout keeps; beyond it, it fires after 1 ms. */
const MAX_RECONNECT_MS = MAX_TIMER_MS;
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
    /** Deeper than the copies ({@link copyOptions}): the library's envelope wraps them. */
    private readonly depth: SafeJsonOptions,
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
      try {
        for (const line of this.deferred.splice(0)) socket.send(line);
      } catch {
        // Runs in a socket callback: a throw here would be uncaught. What is left is dropped.
      }
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
    const line = stringifySafe(event, this.depth);
    if (this.socket?.readyState === OPEN) {
      try {
        this.socket.send(line);
        return;
      } catch {
        // Kept for the next connection.
      }
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

const STATELY_OPTIONS = [
  "url",
  "allowRemote",
  "maxDeferredEvents",
  "reconnectMs",
  "serializationDepthLimit",
  "sanitizeContext",
  "sanitizeEvent",
];

/**
 * Throws a RangeError naming an unknown option, or one of the wrong kind: a misspelt `port` or a
 * `sanitizeContext: "x"` ran with the defaults, and `allowRemote: "no"` (truthy) sent the
 * inspection data to a remote address.
 */
function checkOptionKinds(options: StatelyInspectorOptions): void {
  const refuse = (text: string): never => {
    throw new RangeError(`createStatelyInspector: ${text}`);
  };
  const unknown = unknownOptionKeys(options, STATELY_OPTIONS);
  if (unknown.length > 0) refuse(unknownOptionsText(unknown, STATELY_OPTIONS));
  if (options.url !== undefined && typeof options.url !== "string")
    refuse(`url must be a ws:// or wss:// address, got ${shownValue(options.url)}`);
  if (options.allowRemote !== undefined && typeof options.allowRemote !== "boolean")
    refuse(`allowRemote must be true or false, got ${shownValue(options.allowRemote)}`);
  for (const name of ["sanitizeContext", "sanitizeEvent"] as const)
    if (options[name] !== undefined && typeof options[name] !== "function")
      refuse(`${name} must be a function, got ${shownValue(options[name])}`);
}

/** Throws a RangeError unless `value` is undefined or a delay in [MIN_RECONNECT_MS, MAX_RECONNECT_MS]. */
function checkReconnectMs(value: unknown): void {
  if (value === undefined) return;
  if (typeof value === "number" && value >= MIN_RECONNECT_MS && value <= MAX_RECONNECT_MS) return;
  throw new RangeError(
    `createStatelyInspector: reconnectMs must be a number of ms from ${MIN_RECONNECT_MS} to ${MAX_RECONNECT_MS}, got ${shownValue(value)}`,
  );
}

/** `serializationDepthLimit`: the library's serialiser refuses 0 and Infinity with its own words. */
function checkDepthLimit(value: unknown): void {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return;
  if (Number.isSafeInteger(value) && (value as number) >= 1) return;
  throw new RangeError(
    `createStatelyInspector: serializationDepthLimit must be a whole number ≥ 1 or Infinity, got ${shownValue(value)}`,
  );
}

/**
 * How deep the copies handed to `@statelyai/inspect` go: 64, which its default limit (10) stays
 * well under, or deeper than a `serializationDepthLimit` chosen above it (with room for the
 * envelope the library wraps them in), so that the library's limit is the one that applies.
 */
function copyOptions(serializationDepthLimit: number | undefined): SafeJsonOptions {
  return { maxDepth: Math.max(64, (serializationDepthLimit ?? 0) + ENVELOPE_DEPTH) };
}
const ENVELOPE_DEPTH = 4;
const THROWS = "[Throws]";

/** The fields of an actor reference read here (XState's actors have them all). */
interface ActorRefFields {
  readonly sessionId?: unknown;
  readonly id?: unknown;
  readonly _parent?: { readonly sessionId?: unknown };
  readonly logic?: { readonly config?: unknown };
  getSnapshot?(): unknown;
}

/** `read()`, or undefined when it throws. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A machine definition as `@statelyai/inspect` writes it (inline functions as `{ type: name }`), copied now. */
function definitionOf(config: object, copy: SafeJsonOptions): JsonValue {
  try {
    return JSON.parse(
      JSON.stringify(config, (_key, value: unknown) => {
        if (typeof value === "function") return { type: value.name };
        return typeof value === "bigint" ? value.toString() : value;
      }),
    ) as JsonValue;
  } catch {
    return toJsonSafe(config, copy);
  }
}

/**
 * Copies an XState inspection event, when it happens, into the stand-in `@statelyai/inspect`
 * converts a moment later (after a `setTimeout(0)`): only the fields it reads, as JSON-safe
 * copies, with the user's sanitisers already applied. Nothing the library does with it later can
 * throw (a throw there would be an uncaught exception), and what it sends is the state at the
 * time of the event, not whatever the context holds by then.
 */
class StatelyCopier {
  private readonly definitions = new WeakMap<object, JsonValue>();

  private readonly copyDepth: SafeJsonOptions;

  constructor(
    private readonly sanitizeContext: StatelyInspectorOptions["sanitizeContext"],
    private readonly sanitizeEvent: StatelyInspectorOptions["sanitizeEvent"],
    serializationDepthLimit?: number,
  ) {
    this.copyDepth = copyOptions(serializationDepthLimit);
  }

  /** The stand-in for `event`, or undefined for the types the library does not send. */
  copy(event: InspectionEvent): object | undefined {
    const ref = event.actorRef as ActorRefFields;
    const sessionId = stringOrUndefined(ref.sessionId);
    switch (event.type) {
      case "@xstate.actor": {
        const config = attempt(() => ref.logic?.config);
        const parentId = stringOrUndefined(attempt(() => ref._parent?.sessionId));
        return {
          type: event.type,
          rootId: event.rootId,
          actorRef: {
            id: stringOrUndefined(ref.id),
            sessionId,
            _parent: parentId === undefined ? undefined : { sessionId: parentId },
            logic:
              typeof config === "object" && config !== null ? { config: this.definition(config) } : undefined,
            // XState announces an actor before it has a snapshot: like the library, read it when
            // the announcement is converted (copied then, and never throwing).
            getSnapshot: () => this.snapshot(attempt(() => ref.getSnapshot?.())),
          },
        };
      }
      case "@xstate.event": {
        const sourceId = stringOrUndefined(attempt(() => event.sourceRef?.sessionId));
        return {
          type: event.type,
          rootId: event.rootId,
          event: this.event(event.event),
          sourceRef: sourceId === undefined ? undefined : { sessionId: sourceId },
          actorRef: { sessionId },
        };
      }
      case "@xstate.snapshot":
        return {
          type: event.type,
          rootId: event.rootId,
          event: this.event(event.event),
          snapshot: this.snapshot(event.snapshot),
          actorRef: { sessionId },
        };
      default:
        return undefined;
    }
  }

  /** The machine's definition, with its initial context sanitised as well (computed once per machine). */
  private definition(config: object): JsonValue {
    let definition = this.definitions.get(config);
    if (definition === undefined) {
      definition = definitionOf(this.withSanitisedContext(config), this.copyDepth);
      this.definitions.set(config, definition);
    }
    return definition;
  }

  /** `fields` with its `context` (when an object) replaced by the sanitiser's answer, or by a marker when it throws. */
  private withSanitisedContext(fields: object): object {
    const sanitize = this.sanitizeContext;
    const context = attempt(() => (fields as { context?: unknown }).context);
    if (sanitize === undefined || typeof context !== "object" || context === null) return fields;
    let sanitised: unknown;
    try {
      sanitised = sanitize(context as Record<string, unknown>);
    } catch {
      sanitised = { "@sanitizeContext": THROWS };
    }
    try {
      return { ...fields, context: sanitised };
    } catch {
      return { context: sanitised };
    }
  }

  private event(event: unknown): JsonValue {
    const sanitize = this.sanitizeEvent;
    if (sanitize === undefined) return toJsonSafe(event, this.copyDepth);
    try {
      return toJsonSafe(sanitize(event as { type: string }), this.copyDepth);
    } catch {
      const type = stringOrUndefined(attempt(() => (event as { type?: unknown }).type));
      return { type: type ?? THROWS, "@sanitizeEvent": THROWS };
    }
  }

  private snapshot(snapshot: unknown): JsonValue {
    if (this.sanitizeContext === undefined || typeof snapshot !== "object" || snapshot === null)
      return toJsonSafe(snapshot, this.copyDepth);
    // The snapshot as JSON holds it (a machine snapshot's toJSON leaves its machine out), with
    // the context replaced by the sanitiser's answer.
    let view: unknown;
    try {
      const toJSON = (snapshot as { toJSON?: unknown }).toJSON;
      view = typeof toJSON === "function" ? toJSON.call(snapshot) : snapshot;
    } catch {
      return THROWS;
    }
    if (typeof view !== "object" || view === null) return toJsonSafe(view, this.copyDepth);
    return toJsonSafe(this.withSanitisedContext(view), this.copyDepth);
  }
}

/**
 * Creates an inspection sink that sends XState inspection events, in the format of
 * `@statelyai/inspect`, to a Stately inspector relay over a WebSocket.
 *
 * @remarks
 * `@statelyai/inspect` is an optional peer: it is loaded with a dynamic `import()` when this is
 * called, and a {@link MissingPeerError} naming it is thrown if it is not installed; arqon works
 * without it. This sink has its own entry point, `arqon/inspect/stately`, so that an app bundling
 * the other sinks (`arqon/inspect`) never needs the package, and one bundling this sink gets it. Privacy by default: nothing is opened (no browser, no server) and the sink only
 * connects to a loopback address (`ws://127.0.0.1:8080` by default); any other address is refused
 * unless `allowRemote: true`. The relay and the page showing the UI are yours to run, e.g. the
 * relay from `@statelyai/inspect/server` started with `autoOpen: false` (note that it listens on
 * every interface and that its page loads the hosted Stately UI). Each event is copied when it
 * happens, as {@link toJsonSafe} does (so a context holding a getter that throws, a cycle or a
 * typed array is sent in a safe form, as it was then), with `sanitizeContext` and `sanitizeEvent`
 * applied at that moment inside a `try`; `@statelyai/inspect` converts the copy and sends it after a
 * `setTimeout(0)`, where nothing can throw any more: inspection never breaks the inspected actor
 * nor the process. (An actor's announcement carries its snapshot as it is when sent, since XState
 * announces an actor before its first snapshot; it is copied just as safely.) Only the event
 * types the Stately UI shows are copied (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`). While the relay is away, up to `maxDeferredEvents` events
 * are kept, and the sink reconnects every `reconnectMs` on a timer that never keeps the process alive.
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
  checkOptionKinds(options);
  checkCountOption("createStatelyInspector", "maxDeferredEvents", options.maxDeferredEvents);
  checkReconnectMs(options.reconnectMs);
  checkDepthLimit(options.serializationDepthLimit);
  const url = options.url ?? "ws://127.0.0.1:8080";
  if (options.allowRemote !== true && !isLoopbackWebSocketUrl(url)) {
    throw new RangeError(
      `createStatelyInspector: ${JSON.stringify(url)} is not a loopback ws:// address; ` +
        "pass allowRemote: true to send inspection data off this machine",
    );
  }
  const stately = await importOptionalPeer(
    "@statelyai/inspect",
    "createStatelyInspector",
    // A literal specifier: a bundled app that uses this sink (a browser page) gets the package.
    () => import("@statelyai/inspect") as unknown as Promise<StatelyModule>,
  );
  const Socket = await socketConstructor();
  const relay = new RelayConnection(
    url,
    Socket,
    options.maxDeferredEvents ?? 200,
    options.reconnectMs ?? 1000,
    { maxDepth: copyOptions(options.serializationDepthLimit).maxDepth! + ENVELOPE_DEPTH },
  );
  const inspector = stately.createInspector(relay, {
    autoStart: false,
    ...(options.serializationDepthLimit === undefined
      ? {}
      : // The library's serialiser takes whole numbers only: Infinity as the largest it can reach.
        { serializationDepthLimit: Math.min(options.serializationDepthLimit, Number.MAX_SAFE_INTEGER) }),
    // The sanitisers are not handed over: the library would call them after a setTimeout(0),
    // where a throw is an uncaught exception. The copier calls them now.
  });
  const copier = new StatelyCopier(
    options.sanitizeContext,
    options.sanitizeEvent,
    options.serializationDepthLimit,
  );
  inspector.start();
  let closed = false;
  return {
    inspect: (event) => {
      if (closed) return;
      try {
        const copy = copier.copy(event);
        if (copy !== undefined) inspector.inspect.next?.(copy as InspectionEvent);
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
