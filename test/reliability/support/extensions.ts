/**
 * Checks for tables that other parts of the product add (fit jobs, the graph outbox). Each looks for its table by
 * name and is skipped, with the reason printed, while the table does not exist, so the scenarios need no change when
 * those parts land; a scenario that exercises them only has to create the jobs or rows first.
 */
import pg from 'pg';

export interface ExtensionOutcome {
  readonly name: string;
  /** Why the check did not run (its table is missing or has an unknown shape). */
  readonly skipped?: string;
  readonly problems: string[];
  readonly figures?: Record<string, number>;
}

interface Table {
  schema: string;
  name: string;
  columns: Set<string>;
}

async function findTable(client: pg.Client, pattern: string): Promise<Table | undefined> {
  const r = await client.query<{ schema: string; name: string; columns: string[] }>(
    `SELECT t.table_schema AS schema, t.table_name AS name, array_agg(c.column_name::text) AS columns
     FROM information_schema.tables t JOIN information_schema.columns c USING (table_schema, table_name)
     WHERE t.table_name LIKE $1 AND t.table_schema NOT IN ('pg_catalog', 'information_schema')
     GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 1`,
    [pattern],
  );
  const row = r.rows[0];
  return row && { schema: row.schema, name: row.name, columns: new Set(row.columns) };
}

const qualified = (t: Table) => `"${t.schema}"."${t.name}"`;

/** After a crash and restart, no fit job may stay `running` (the restarted service must fail or resume it). */
async function noFitJobRunning(client: pg.Client): Promise<ExtensionOutcome> {
  const name = 'no fit job stays running';
  const table = await findTable(client, '%fit_job%');
  if (!table) return { name, skipped: 'no fit job table in this database (fit jobs not merged yet)', problems: [] };
  if (!table.columns.has('status')) return { name, skipped: `${table.name} has no status column`, problems: [] };
  const r = await client.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM ${qualified(table)} GROUP BY 1`);
  const counts = Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  const running = counts.running ?? 0;
  return { name, problems: running > 0 ? [`${running} fit jobs still running after the restart`] : [], figures: counts };
}

/**
 * Every outbox row is pending for a pair that exists, at a version the pair has reached (a row ahead of its pair
 * would project a state that was never committed). Rows that were projected are gone from the outbox.
 */
async function outboxProjectedOrPending(client: pg.Client): Promise<ExtensionOutcome> {
  const name = 'graph outbox rows projected or pending';
  const table = await findTable(client, '%outbox%');
  if (!table) return { name, skipped: 'no graph outbox table in this database (the SQL outbox is not merged yet)', problems: [] };
  for (const c of ['student_id', 'concept_id', 'version']) {
    if (!table.columns.has(c)) return { name, skipped: `${table.name} has no ${c} column`, problems: [] };
  }
  const r = await client.query<{ pending: number; ahead: number; orphan: number }>(
    `SELECT count(*)::int AS pending,
            count(*) FILTER (WHERE m.version < o.version)::int AS ahead,
            count(*) FILTER (WHERE o.concept_id IS NOT NULL AND m.student_id IS NULL)::int AS orphan
     FROM ${qualified(table)} o
     LEFT JOIN public.student_mastery m ON m.student_id = o.student_id AND m.concept_id = o.concept_id`,
  );
  const { pending, ahead, orphan } = r.rows[0];
  const problems: string[] = [];
  if (ahead > 0) problems.push(`${ahead} outbox rows are ahead of their pair's committed version`);
  if (orphan > 0) problems.push(`${orphan} outbox rows name a pair that does not exist`);
  return { name, problems, figures: { pending } };
}

export const EXTENSION_CHECKS = [noFitJobRunning, outboxProjectedOrPending];

/** Runs every extension check and prints each outcome (skips with their reason). */
export async function runExtensionChecks(databaseUrl: string, log: (line: string) => void = console.log): Promise<ExtensionOutcome[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const outcomes: ExtensionOutcome[] = [];
    for (const check of EXTENSION_CHECKS) {
      const o = await check(client);
      log(o.skipped ? `  check "${o.name}": skipped: ${o.skipped}` : `  check "${o.name}": ${o.problems.length ? o.problems.join('; ') : 'ok'} ${JSON.stringify(o.figures ?? {})}`);
      outcomes.push(o);
    }
    return outcomes;
  } finally {
    await client.end();
  }
}
