/**
 * aws-local-stepfunctions 3 targets Node 22 and calls Promise.withResolvers, which Node 20
 * lacks. Installing it is idempotent: a native or earlier polyfill is left alone.
 */
export function installPromiseWithResolvers(): void {
  if (typeof (Promise as { withResolvers?: unknown }).withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
    configurable: true,
    writable: true,
  });
}

installPromiseWithResolvers();
