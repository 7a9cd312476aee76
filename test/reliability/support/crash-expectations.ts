/**
 * What the crash scenario must show beyond the record check, shared by the short run (crash.test.ts) and the full
 * one (scenarios.full.ts): the fit job was running when the service was killed and the restarted service's sweep
 * marked it interrupted, and both extension checks ran on real rows (the outbox held pending rows to compare).
 */
import { expect } from 'vitest';
import { FIT_JOBS_CHECK, OUTBOX_CHECK } from './extensions.js';
import { SEED_FIT, type ScenarioResult } from './scenarios.js';

/**
 * `sweep`: the job must be marked by the restarted service's periodic sweep, as happens when the restart is quicker
 * than BKT_FIT_STALE_MS (the full run, one file at a time). Otherwise (the short run, beside the rest of the suite on
 * a loaded machine, where a restart can outlast that interval) the restart's own recovery may mark it instead.
 */
export function expectCrashChecks(r: ScenarioResult, { sweep }: { sweep: boolean }): void {
  const seedRows = SEED_FIT.students * SEED_FIT.answers;
  expect(r.extra['seed rows']).toBe(seedRows);
  // The seed concept's rows were there and left out of the record check (the load never asked for them).
  expect(r.figures['ignored rows']).toBe(seedRows);
  expect(r.extra['fit job at kill']).toBe('running');
  expect(r.extra['fit job']).toBe('interrupted');
  if (sweep) expect(r.extra['fit job interrupted by']).toBe('sweep');
  else expect(['sweep', 'start']).toContain(r.extra['fit job interrupted by']);
  const byName = new Map(r.extensions.map((e) => [e.name, e]));
  const jobs = byName.get(FIT_JOBS_CHECK);
  const outbox = byName.get(OUTBOX_CHECK);
  expect(jobs?.skipped).toBeUndefined();
  expect(outbox?.skipped).toBeUndefined();
  expect(jobs!.problems).toEqual([]);
  expect(outbox!.problems).toEqual([]);
  expect(jobs!.figures).toEqual({ interrupted: 1 });
  const f = outbox!.figures!;
  expect(f.pending).toBeGreaterThan(seedRows / SEED_FIT.answers);
  expect(f.pending).toBe(f.pairs);
  expect([f.absent, f.stale, f.duplicated, f.orphan, f.removal]).toEqual([0, 0, 0, 0, 0]);
}
