/**
 * Checks of the tables beside the mastery state: fit jobs (bkt_internal.fit_jobs) and the graph outbox
 * (bkt_internal.graph_outbox). A check is skipped, with the reason printed, only where the database cannot tell what
 * should hold: its table is missing, or a relay may have projected (and so deleted) outbox rows. A scenario that
 * exercises these parts (the crash scenario) asserts that the checks ran.
 */
import pg from 'pg';
import { DEFAULT_THRESHOLD } from '../../../src/bkt/index.js';

export interface ExtensionOutcome {
  readonly name: string;
  /** Why the check did not run. */
  readonly skipped?: string;
  readonly problems: string[];
  readonly figures?: Record<string, number>;
}

export interface ExtensionContext {
  /** The service's mastery threshold (an outbox row's `mastered` is level >= threshold). */
  readonly threshold?: number;
  /** A fit job the scenario left running in a process it killed: the restarted service must have marked it `interrupted`. */
  readonly interruptedFitJob?: string;
}

export const FIT_JOBS_CHECK = 'no fit job stays running';
export const OUTBOX_CHECK = 'graph outbox: one pending row per answered pair, at its state';

async function tableExists(client: pg.Client, name: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
  return r.rows[0].ok;
}

/**
 * No fit job stays queued or running (a killed process's job is marked interrupted by the instances still up); the
 * job the scenario named, if any, ended `interrupted`.
 */
async function fitJobsEnded(client: pg.Client, ctx: ExtensionContext): Promise<ExtensionOutcome> {
  const name = FIT_JOBS_CHECK;
  if (!(await tableExists(client, 'bkt_internal.fit_jobs'))) return { name, skipped: 'no bkt_internal.fit_jobs in this database', problems: [] };
  const r = await client.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM bkt_internal.fit_jobs GROUP BY 1');
  const figures: Record<string, number> = Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  const problems: string[] = [];
  const active = (figures.running ?? 0) + (figures.queued ?? 0);
  if (active > 0) problems.push(`${active} fit jobs still queued or running after the run`);
  if (ctx.interruptedFitJob !== undefined) {
    const job = await client.query<{ status: string }>('SELECT status FROM bkt_internal.fit_jobs WHERE id = $1', [ctx.interruptedFitJob]);
    const status = job.rows[0]?.status ?? 'missing';
    if (status !== 'interrupted') problems.push(`fit job ${ctx.interruptedFitJob}, running when its process was killed, is ${status}, not interrupted`);
  }
  return { name, problems, figures };
}

interface PairRow {
  student_id: string;
  concept_id: string;
  p_known: number;
}

interface OutboxRow {
  kind: 'mastery' | 'removal';
  student_id: string;
  concept_id: string;
  level: number | null;
  mastered: boolean | null;
}

/**
 * With the projection on and no relay ever run, the outbox must hold exactly one pending `mastery` row per answered
 * pair, carrying the pair's committed state (level = p_known, mastered = level >= threshold): a missing row or one
 * with another level is a graph update lost (`absent`, `stale`). A row for a pair that does not exist (`orphan`) is
 * an update that was never committed. Outbox versions come from a global sequence and are not compared with the
 * pair's version. With the projection never enabled, the outbox must be empty.
 */
async function outboxMatchesPairs(client: pg.Client, ctx: ExtensionContext): Promise<ExtensionOutcome> {
  const name = OUTBOX_CHECK;
  if (!(await tableExists(client, 'bkt_internal.graph_outbox'))) return { name, skipped: 'no bkt_internal.graph_outbox in this database', problems: [] };
  const threshold = ctx.threshold ?? DEFAULT_THRESHOLD;
  const settings = (await client.query<{ enabled: boolean; ever_enabled: boolean }>('SELECT enabled, ever_enabled FROM bkt_internal.graph_settings')).rows[0];
  const leases = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM bkt_internal.graph_lease')).rows[0].n;
  const rows = (
    await client.query<OutboxRow>('SELECT kind, student_id::text, concept_id::text, level, mastered FROM bkt_internal.graph_outbox')
  ).rows;
  if (!settings.ever_enabled) {
    return {
      name,
      problems: rows.length > 0 ? [`${rows.length} outbox rows, but the projection was never enabled`] : [],
      figures: { pending: rows.length },
    };
  }
  if (leases > 0) return { name, skipped: 'a relay held the lease: rows it projected are gone from the outbox', problems: [] };
  if (!settings.enabled) return { name, skipped: 'the projection was turned off again: later updates queue nothing', problems: [] };

  const pairs = (
    await client.query<PairRow>('SELECT student_id::text, concept_id::text, p_known FROM public.student_mastery WHERE n_responses > 0')
  ).rows;
  const byPair = new Map<string, OutboxRow[]>();
  let removal = 0;
  for (const row of rows) {
    if (row.kind === 'removal') {
      removal++;
      continue;
    }
    const key = `${row.student_id}/${row.concept_id}`;
    const list = byPair.get(key) ?? [];
    list.push(row);
    byPair.set(key, list);
  }
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  let absent = 0;
  let stale = 0;
  let duplicated = 0;
  for (const pair of pairs) {
    const key = `${pair.student_id}/${pair.concept_id}`;
    const list = byPair.get(key) ?? [];
    byPair.delete(key);
    if (list.length === 0) {
      absent++;
      problem(`pair ${key} (p_known ${pair.p_known}) has no pending outbox row: its graph update is lost`);
      continue;
    }
    if (list.length > 1) {
      duplicated++;
      problem(`pair ${key} has ${list.length} mastery outbox rows`);
    }
    const row = list[0];
    if (row.level !== pair.p_known || row.mastered !== pair.p_known >= threshold) {
      stale++;
      problem(`pair ${key}: outbox level ${row.level} mastered ${row.mastered}, but p_known is ${pair.p_known}`);
    }
  }
  let orphan = 0;
  for (const [key, list] of byPair) {
    orphan += list.length;
    problem(`${list.length} outbox rows for ${key}, a pair with no answered state`);
  }
  const mastery = rows.length - removal;
  if (absent > 0) problems.unshift(`${absent} answered pairs have no pending outbox row`);
  if (stale > 0) problems.unshift(`${stale} outbox rows hold another state than their pair`);
  if (orphan > 0) problems.unshift(`${orphan} outbox rows name a pair that does not exist`);
  return { name, problems, figures: { pairs: pairs.length, pending: mastery, absent, stale, duplicated, orphan, removal } };
}

export const EXTENSION_CHECKS = [fitJobsEnded, outboxMatchesPairs];

/** Runs every extension check and prints each outcome (skips with their reason). */
export async function runExtensionChecks(
  databaseUrl: string,
  ctx: ExtensionContext = {},
  log: (line: string) => void = console.log,
): Promise<ExtensionOutcome[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const outcomes: ExtensionOutcome[] = [];
    for (const check of EXTENSION_CHECKS) {
      const o = await check(client, ctx);
      log(o.skipped ? `  check "${o.name}": skipped: ${o.skipped}` : `  check "${o.name}": ${o.problems.length ? o.problems.join('; ') : 'ok'} ${JSON.stringify(o.figures ?? {})}`);
      outcomes.push(o);
    }
    return outcomes;
  } finally {
    await client.end();
  }
}
