/** Imports and fit-job replays write mastery outside the update transaction; the graph outbox must still see them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import { dataPath } from '../support/data.js';
import { startService, type TestService } from '../support/service.js';
import { importInProcess, runFit } from './support.js';

describe('the graph outbox sees imports and replays', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('pglite');
    await setGraphEnabled(svc.db, true);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** Pending outbox rows that carry the pair's current level. */
  const current = async () => {
    const [r] = await svc.db.query<{ pending: number; current: number }>(
      `SELECT count(*)::int AS pending, count(*) FILTER (WHERE o.level = sm.p_known)::int AS current
       FROM bkt_internal.graph_outbox o JOIN public.student_mastery sm USING (student_id, concept_id)
       WHERE o.kind = 'mastery'`,
    );
    return r;
  };

  it('queues every imported pair, then every replayed pair with its new level', async () => {
    await importInProcess(svc.db, dataPath('assist2009_pybkt_subset.csv'), false, svc.store.pairsWritten);
    expect(await current()).toEqual({ pending: 1218, current: 1218 });
    const levels = await svc.db.query<{ level: number }>("SELECT level FROM bkt_internal.graph_outbox WHERE kind = 'mastery' ORDER BY student_id, concept_id");
    await runFit(svc.app, { replay: true });
    expect(await current()).toEqual({ pending: 1218, current: 1218 });
    const after = await svc.db.query<{ level: number }>("SELECT level FROM bkt_internal.graph_outbox WHERE kind = 'mastery' ORDER BY student_id, concept_id");
    // The replay changed the levels (new parameters), and the outbox followed.
    expect(after.filter((r, i) => r.level !== levels[i].level).length).toBeGreaterThan(1000);
  });
});
