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
 */
export function selectFrom<S, T>(
  store: ExternalStore<S>,
  selector: ((value: S) => T) | undefined,
  isEqual: ((a: T, b: T) => boolean) | undefined = Object.is,
): () => T | S {
  if (selector === undefined) return store.getSnapshot;
  let source: S | undefined;
  let selection: T | undefined;
  let has = false;
  return () => {
    const value = store.getSnapshot();
    if (has && value === source) return selection as T;
    const next = selector(value);
    source = value;
    if (!(has && isEqual(selection as T, next))) selection = next;
    has = true;
    return selection as T;
  };
}
