/**
 * Spaces out the relay's wake-ups by commits. A commit after a quiet spell wakes the relay at once (the graph is
 * current within a cycle); under load, the commits within one interval share a single wake-up at its end, so a busy
 * service pays for a relay cycle (two statements and a graph write) at most once per interval, not once per commit.
 */
export class WakeLimiter {
  #timer: NodeJS.Timeout | undefined;
  #lastWake = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly wake: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(intervalMs >= 0)) throw new RangeError(`intervalMs must be >= 0, got ${intervalMs}`);
  }

  /** A commit happened: wakes now, or at the end of the current interval if a wake-up already happened in it. */
  commit(): void {
    if (this.#timer !== undefined) return;
    const delay = Math.max(0, this.#lastWake + this.intervalMs - this.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#lastWake = this.now();
      this.wake();
    }, delay);
    this.#timer.unref();
  }

  /** Drops a pending wake-up (shutdown). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
