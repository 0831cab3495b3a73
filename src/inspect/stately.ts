/**
 * `arqon/inspect/stately`: {@link createStatelyInspector}, a sink for XState inspection events that
 * shows them in the Stately inspector UI over a local WebSocket relay. It needs the optional peer
 * `@statelyai/inspect`, which is why it has an entry point of its own: the other sinks
 * (`arqon/inspect`) bundle without it.
 *
 * @packageDocumentation
 */

export { MissingPeerError } from "./optional-peer.js";
export {
  createStatelyInspector,
  isLoopbackWebSocketUrl,
  type StatelyInspector,
  type StatelyInspectorOptions,
} from "./stately-inspector.js";
