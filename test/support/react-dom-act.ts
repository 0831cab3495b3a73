/**
 * Mounting hooks with react-dom's client renderer, without a DOM library: the probe components
 * render nothing, so React needs no more than a container to root the tree in, and `act` flushes
 * every update before it returns, which makes each render deterministic (no timers).
 */
import { version } from "react";
import { afterAll, afterEach, beforeAll, expect, vi } from "vitest";

/**
 * The least react-dom's client renderer reads from a container when nothing is rendered into it:
 * its node type and tag, and a document (with a window) to attach its event listeners to.
 */
export function bareContainer(): Element {
  const events = { addEventListener() {}, removeEventListener() {} };
  const document = { ...events, nodeType: 9, activeElement: null, body: null, documentElement: null };
  Object.assign(document, { defaultView: { document, HTMLIFrameElement: class {} } });
  return {
    ...events,
    nodeType: 1,
    nodeName: "DIV",
    tagName: "DIV",
    namespaceURI: null,
    ownerDocument: document,
    firstChild: null,
  } as unknown as Element;
}

/**
 * Hooks for a `describe` whose tests mount with `act`: the globals act needs, and a check after
 * each test that React printed no error (a getSnapshot that is not cached, an update outside act).
 */
export function useActEnvironment(): void {
  const consoleError = vi.spyOn(console, "error");
  beforeAll(() => {
    // react-dom reads `window.event` to prioritise updates (and React 18 `HTMLIFrameElement` to
    // find the focused element); act() needs this flag to flush them.
    vi.stubGlobal("window", { event: undefined, HTMLIFrameElement: class {} });
    vi.stubGlobal("IS_REACT_ACT_ENVIRONMENT", true);
  });
  afterAll(() => {
    vi.unstubAllGlobals();
    consoleError.mockRestore();
  });
  afterEach(() => {
    // React 18 logs an error no boundary caught, which React 19 hands to `onUncaughtError`; the
    // tests that cause one collect it from `act` either way.
    const calls = consoleError.mock.calls.filter(
      ([message]) =>
        !(version.startsWith("18.") && String(message).startsWith("The above error occurred in the <")),
    );
    expect(calls).toEqual([]);
    consoleError.mockClear();
  });
}
