/**
 * The scenarios at full size (run by `npm run test:reliability` only): load, database restart, crash, hot pair and
 * retry storm against a real `bkt serve` on the suite's own PostgreSQL 15 instance. Each ends with the checker and
 * prints its figures. Seeds: BKT_TEST_SEED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SEED } from '../support/seed.js';
import { expectCrashChecks } from './support/crash-expectations.js';
import { createPgInstance, type PgInstance } from './support/pg-instance.js';
import {
  ANSWER_BOUND_MS,
  crashScenario,
  databaseRestartScenario,
  directMaximum,
  hotPairScenario,
  LOAD_RESPONSES_PER_OP,
  loadScenario,
  retryStormScenario,
  type ScenarioResult,
} from './support/scenarios.js';

const LOAD_SECONDS = Number(process.env.BKT_RELIABILITY_LOAD_SECONDS ?? 60);

let instance: PgInstance;
let maximum = 0;
beforeAll(async () => {
  instance = await createPgInstance();
  maximum = await directMaximum(instance, 5);
  console.log(`[direct maximum] ${maximum.toFixed(0)} updates/s (closed loop, 20 callers, pool 10, in-process)`);
});
afterAll(async () => {
  await instance?.destroy();
});

/** A 5xx may only be a 503 `unavailable` with Retry-After (never a 500). */
function expectOnly503(r: ScenarioResult): void {
  for (const e of r.exchanges.filter((x) => x.status >= 500)) {
    expect(e.status).toBe(503);
    expect(e.retryAfter).toBe('1');
    expect((e.answer as { error: { code: string } }).error.code).toBe('unavailable');
  }
}

function expectClean(r: ScenarioResult): void {
  expectOnly503(r);
  expect(r.problems).toEqual([]);
  expect(r.figures.lost).toBe(0);
  expect(r.figures.duplicated).toBe(0);
  expect(r.figures.unexpected).toBe(0);
  expect(r.figures['4xx']).toBe(0);
  expect(r.errorLogs).toEqual([]);
  for (const e of r.extensions) expect(e.problems).toEqual([]);
}

describe('reliability scenarios (full)', () => {
  it('load: open loop at 50% of the direct maximum; p99 and RSS stay flat', async () => {
    // 50% of the direct maximum in responses per second (a few operations are batches).
    const rate = Math.max(20, Math.round((maximum * 0.5) / LOAD_RESPONSES_PER_OP));
    const r = await loadScenario(instance, { rate, seconds: LOAD_SECONDS, warmUp: 3, seed: TEST_SEED });
    expectClean(r);
    expect(r.figures['5xx'] + r.figures['no answer']).toBe(0);
    const e = r.extra as Record<string, number>;
    // Flat: the last third is not markedly worse than the first (generous bounds: a shared 2-core VM stalls).
    expect(e['p99 last third ms']).toBeLessThan(Math.max(3 * e['p99 first third ms'], e['p99 first third ms'] + 50));
    expect(e['RSS last third MiB']).toBeLessThan(e['RSS first third MiB'] * 1.25 + 16);
  });

  it('database restart: 503 with Retry-After during the outage, no hang, no 500, recovery by itself', async () => {
    const r = await databaseRestartScenario(instance, { rate: 100, seconds: 20, stopAt: 7, downFor: 5, seed: TEST_SEED + 1 });
    expectClean(r);
    const { from, to, startIssued } = r.outage;
    for (const e of r.exchanges) {
      expect(e.status, `a request got ${e.status} ${e.failure ?? ''}`).not.toBe(500);
      expect(e.status, `no answer: ${e.failure}`).not.toBe(0);
      expect(e.doneAt - e.sentAt).toBeLessThan(ANSWER_BOUND_MS + (to - from));
      if (e.status === 503) expect(e.retryAfter).toBe('1');
    }
    // Sent while the server was down: a 503 within the bound, or a 200 that waited for the pool until it was back
    // (answered after pg_ctl start was issued: nothing can succeed before).
    const during = r.exchanges.filter((e) => e.sentAt >= from && e.sentAt < to);
    expect(during.filter((e) => e.status === 503).length).toBeGreaterThan(0);
    for (const e of during) {
      if (e.status === 200) expect(e.doneAt).toBeGreaterThanOrEqual(startIssued);
      else expect(e.status).toBe(503);
      expect(e.doneAt - e.sentAt).toBeLessThan(ANSWER_BOUND_MS);
    }
    // Recovery by itself: every request sent from 3 s after the database is back succeeds.
    const late = r.exchanges.filter((e) => e.sentAt >= to + 3000);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((e) => e.status !== 200)).toEqual([]);
  });

  it('crash: SIGKILL mid-load and mid-fit, restart; nothing acknowledged is missing, the job ends interrupted, the outbox is complete', async () => {
    const r = await crashScenario(instance, { rate: 200, seconds: 15, killAt: 5, downFor: 2, seed: TEST_SEED + 2 });
    expectClean(r);
    expect(r.extra['2xx after restart']).toBeGreaterThan(0);
    expectCrashChecks(r, { sweep: true });
  });

  it('hot pair: 200 concurrent updates on one pair; other pairs keep their latency', async () => {
    const r = await hotPairScenario(instance, { rate: 100, seconds: 8, burstAt: 3, burst: 200, seed: TEST_SEED + 3 });
    expectClean(r);
    const e = r.extra as Record<string, number>;
    // Each hot update is applied, or refused with 503 once it has queued past BKT_LOCK_TIMEOUT_MS (2 s here): 200
    // serial commits of one pair need more than that on a slow disk. Nothing else fails.
    expect(r.figures['no answer']).toBe(0);
    expect(e['hot 2xx'] + r.figures['5xx']).toBe(200);
    expect(e['hot 2xx']).toBeGreaterThanOrEqual(100);
    // Before the pair queue (src/service/pair-queue.ts) the burst held the whole pool: others went from p50 10 ms to
    // 900 ms, with 503s; with the queue taken out again (checked 2026-11-27), p50/p90 during the burst were 347/595 ms.
    // With it, p90 during the burst was 21-120 ms over six runs on the shared 2-vCPU VMs: 60-80 samples, so p90 is the
    // sixth to eighth slowest, and one kernel stall (docs/service.md) plus the CPU spike of the burst's 200 requests
    // sets it. The p90 bound leaves room for that and still fails the broken case by a factor of three.
    // p99 is printed, not bounded.
    expect(e['others during p50 ms']).toBeLessThan(Math.max(3 * e['others before p50 ms'], e['others before p50 ms'] + 20));
    expect(e['others during p90 ms']).toBeLessThan(Math.max(3 * e['others before p90 ms'], e['others before p90 ms'] + 200));
  });

  it('retry storm: every request twice at once with the same response id; no duplicates', async () => {
    const r = await retryStormScenario(instance, { rate: 100, seconds: 15, seed: TEST_SEED + 4 });
    expectClean(r);
    expect(r.figures['no answer']).toBe(0);
    // Twins both answered 2xx: exactly one wrote each response. (A twin refused with 503 is allowed: overload.)
    for (const [a, b] of r.twins.filter(([x, y]) => x.status === 200 && y.status === 200)) {
      const flags = (x: typeof a) => (x.op.kind === 'single' ? [(x.answer as { replayed: boolean }).replayed] : (x.answer as { results: { replayed: boolean }[] }).results.map((y) => y.replayed));
      const [fa, fb] = [flags(a), flags(b)];
      // Exactly one of the twins wrote each response; the other replayed it.
      fa.forEach((v, i) => expect(v !== fb[i]).toBe(true));
    }
  });
});
