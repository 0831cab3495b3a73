/**
 * The shape React's `useSyncExternalStore` reads: a way to listen for changes and a way to read
 * the current value.
 *
 * @remarks
 * `getSnapshot` returns the same object until something changed, which is what React needs to
 * avoid needless renders (and endless loops).
 */
export interface ExternalStore<T> {
  /** Calls `onChange` after every change until the returned function is called. */
  subscribe(onChange: () => void): () => void;
  /** The current value; the same object while nothing changed. */
  getSnapshot(): T;
}

/**
 * Fans one upstream subscription out to many listeners: `connect` runs when the first listener
 * arrives and its teardown when the last one leaves, so any number of components share one
 * subscription to the engine.
 */
export function sharedListeners(
  connect: (notify: () => void) => () => void,
): ExternalStore<void>["subscribe"] {
  const listeners = new Set<() => void>();
  let disconnect: (() => void) | undefined;
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  return (onChange) => {
    // A wrapper per call, so that subscribing the same function twice needs two unsubscribes.
    const listener = () => onChange();
    listeners.add(listener);
    if (listeners.size === 1) disconnect = connect(notify);
    return () => {
      if (!listeners.delete(listener)) return;
      if (listeners.size === 0) {
        const stop = disconnect;
        disconnect = undefined;
        stop?.();
      }
    };
  };
}

/**
 * A `getSnapshot` that applies `selector` once per new value of `store` and keeps the previous
 * selection when `isEqual` says it did not change.
 *
 * @remarks
 * Without a selector the selection is the store's value itself, still compared with `isEqual`.
 * `committed` gives the selection a component last rendered, if any: the first selection is
 * compared with it, so that a new `getSnapshot` (e.g. for an inline selector, a new function on
 * each render) keeps an equal selection instead of returning a new object.
 */
export function selectFrom<S, T>(
  store: ExternalStore<S>,
  selector: ((value: S) => T) | undefined,
  isEqual?: (a: T, b: T) => boolean,
  committed?: () => { readonly value: T } | undefined,
): () => T | S {
  if (selector === undefined && isEqual === undefined) return store.getSnapshot;
  const select = selector ?? ((value: S) => value as unknown as T);
  const equal = isEqual ?? Object.is;
  let source: S | undefined;
  let selection: T | undefined;
  let has = false;
  return () => {
    const value = store.getSnapshot();
    if (has && value === source) return selection as T;
    const next = select(value);
    const previous = has ? { value: selection as T } : committed?.();
    source = value;
    selection = previous !== undefined && equal(previous.value, next) ? previous.value : next;
    has = true;
    return selection as T;
  };
}
