/**
 * The relay's wake-up spacing (src/graph/wake.ts), on fake timers. Proves: a commit after a quiet spell wakes the
 * relay at once; commits within an interval of the last wake-up share one wake-up at the interval's end; cancel()
 * drops a pending one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WakeLimiter } from '../../src/graph/wake.js';

describe('WakeLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(intervalMs = 50) {
    const wakes: number[] = [];
    const limiter = new WakeLimiter(intervalMs, () => wakes.push(Date.now()), () => Date.now());
    return { wakes, limiter, start: Date.now() };
  }

  it('proves a commit after a quiet spell wakes the relay at once', async () => {
    const { wakes, limiter, start } = setup();
    limiter.commit();
    await vi.advanceTimersByTimeAsync(0);
    expect(wakes).toEqual([start]);
    await vi.advanceTimersByTimeAsync(500); // quiet
    limiter.commit();
    await vi.advanceTimersByTimeAsync(0);
    expect(wakes).toEqual([start, start + 500]);
  });

  it('proves commits within an interval share one wake-up at its end, so wake-ups are at least an interval apart', async () => {
    const { wakes, limiter, start } = setup(50);
    // A commit every 2 ms for 300 ms: one wake-up at once, then one per 50 ms.
    for (let t = 0; t < 300; t += 2) {
      limiter.commit();
      await vi.advanceTimersByTimeAsync(2);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(wakes.map((w) => w - start)).toEqual([0, 50, 100, 150, 200, 250, 300]);
  });

  it('proves cancel drops a pending wake-up', async () => {
    const { wakes, limiter } = setup(50);
    limiter.commit();
    await vi.advanceTimersByTimeAsync(0);
    limiter.commit(); // due at the end of the interval
    limiter.cancel();
    await vi.advanceTimersByTimeAsync(200);
    expect(wakes).toHaveLength(1);
  });

  it('refuses a negative interval', () => {
    expect(() => new WakeLimiter(-1, () => {})).toThrow(RangeError);
  });
});
