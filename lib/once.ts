/**
 * Memoises a dependency factory per container, so a warm Lambda reuses its clients. A module of
 * its own, so that a handler can use it without loading lib/runtime.ts (and with it SSM's client).
 */
export function once<T>(factory: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = factory();
      made = true;
    }
    return value as T;
  };
}
