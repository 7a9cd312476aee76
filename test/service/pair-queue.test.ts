/** PairQueue: one pair's updates run one at a time in this process; other pairs do not wait; waits are bounded. */
import { describe, expect, it } from 'vitest';
import { PairQueue, ServiceError } from '../../src/service/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Work that records how many runs overlap on each key. */
function tracker() {
  const active = new Map<string, number>();
  const peak = new Map<string, number>();
  return {
    peak,
    work: (keys: string[], ms: number) => async () => {
      for (const k of keys) {
        active.set(k, (active.get(k) ?? 0) + 1);
        peak.set(k, Math.max(peak.get(k) ?? 0, active.get(k)!));
      }
      await sleep(ms);
      for (const k of keys) active.set(k, active.get(k)! - 1);
      return keys.join('+');
    },
  };
}

describe('PairQueue', () => {
  it('runs work on one key one at a time, in arrival order', async () => {
    const q = new PairQueue(5000);
    const t = tracker();
    const order: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => q.run(['a'], async () => {
      order.push(i);
      await t.work(['a'], 1)();
    })));
    expect(t.peak.get('a')).toBe(1);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(q.size).toBe(0);
  });

  it('does not make other keys wait', async () => {
    const q = new PairQueue(5000);
    const slow = q.run(['hot'], () => sleep(200).then(() => 'slow'));
    const t0 = Date.now();
    await q.run(['cold'], async () => 'fast');
    expect(Date.now() - t0).toBeLessThan(150);
    await slow;
  });

  it('takes several keys in sorted order, so crossing requests never wait on each other forever', async () => {
    const q = new PairQueue(5000);
    const t = tracker();
    const runs = Array.from({ length: 40 }, (_, i) => (i % 2 ? ['x', 'y'] : ['y', 'x', 'y'])).map((keys) => q.run(keys, t.work([...new Set(keys)], 1)));
    await Promise.all(runs);
    expect(t.peak.get('x')).toBe(1);
    expect(t.peak.get('y')).toBe(1);
    expect(q.size).toBe(0);
  });

  it('gives up with unavailable past the wait bound, and those queued behind still run', async () => {
    const q = new PairQueue(50);
    const first = q.run(['a'], () => sleep(200));
    const second = q.run(['a'], async () => 'never');
    const third = q.run(['a'], async () => 'never either');
    await expect(second).rejects.toBeInstanceOf(ServiceError);
    await expect(second).rejects.toMatchObject({ code: 'unavailable' });
    await expect(third).rejects.toMatchObject({ code: 'unavailable' });
    await first;
    expect(await q.run(['a'], async () => 'after')).toBe('after');
    expect(q.size).toBe(0);
  });

  it('releases its keys when the work throws', async () => {
    const q = new PairQueue(1000);
    await expect(q.run(['a', 'b'], async () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await q.run(['b', 'a'], async () => 'ok')).toBe('ok');
    expect(q.size).toBe(0);
  });
});
