/**
 * The fast part of the reliability suite that `npm test` runs: one short crash scenario. A real `bkt serve` on the
 * suite's own PostgreSQL 15 instance, with the graph projection on and a fit job running, is SIGKILLed in the middle
 * of a seeded load and started again; the checker then finds every acknowledged answer exactly once, nothing else,
 * every pair equal to the replay of its history, the fit job marked interrupted by the restarted service (its sweep, or
 * its start when the restart outlasts the stale interval on a loaded machine), and one pending outbox row per answered
 * pair at its state. (The full run, `npm run test:reliability`, runs it longer
 * with the other scenarios.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEST_SEED } from '../support/seed.js';
import { createPgInstance, type PgInstance } from './support/pg-instance.js';
import { expectCrashChecks } from './support/crash-expectations.js';
import { crashScenario } from './support/scenarios.js';
import { FULL } from './support/size.js';

let instance: PgInstance;
beforeAll(async () => {
  instance = await createPgInstance();
});
afterAll(async () => {
  await instance?.destroy();
});

it.skipIf(FULL)('crash (short): SIGKILL mid-load and mid-fit, restart; nothing acknowledged is missing, the job ends interrupted, the outbox is complete', async () => {
  const r = await crashScenario(instance, { rate: 150, seconds: 5, killAt: 2, downFor: 0.5, seed: TEST_SEED });
  expect(r.problems).toEqual([]);
  expect(r.figures.lost).toBe(0);
  expect(r.figures.duplicated).toBe(0);
  expect(r.figures.unexpected).toBe(0);
  expect(r.figures['4xx'] + r.figures['5xx']).toBe(0);
  expect(r.errorLogs).toEqual([]);
  expect(r.extra['2xx after restart']).toBeGreaterThan(0);
  for (const e of r.extensions) expect(e.problems).toEqual([]);
  expectCrashChecks(r, { sweep: false });
});
