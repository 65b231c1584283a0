/** Timers that never keep the process alive and can all be cancelled at close. */
export class TimerSet {
  readonly #handles = new Set<NodeJS.Timeout>();

  schedule(callback: () => void, delayMs: number): void {
    const handle = setTimeout(
      () => {
        this.#handles.delete(handle);
        callback();
      },
      Math.max(0, delayMs),
    );
    handle.unref();
    this.#handles.add(handle);
  }

  /** Resolves after `delayMs`; never resolves when the set is cleared first. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, delayMs));
  }

  clearAll(): void {
    for (const handle of this.#handles) clearTimeout(handle);
    this.#handles.clear();
  }
}
