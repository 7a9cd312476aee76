/**
 * bench/outbox-cost: what the graph outbox's upsert costs PostgreSQL per update, and which parts of the table cost
 * what. One backend runs a PL/pgSQL loop of N upserts of random pairs (2,000 students x 50 concepts), the statement
 * bkt_internal.write_response runs when the projection is on, into:
 *   - the real bkt_internal.graph_outbox (three single-column rules in domains, one table CHECK across columns);
 *   - a copy with all four rules as table CHECK constraints (as before migration 20261127500000), one with no rule at
 *     all, and one without the `seq` identity (and its index).
 * A loop that only draws the pairs is the baseline; each figure is the median over rounds (variants alternate within a
 * round) of (loop time - baseline) / N. No round trips and no commits per upsert: this is the statement's own work,
 * the part an update pays inside its transaction (docs/graph.md, "Benchmark").
 *
 * Run: npx tsx bench/outbox-cost.ts [--rounds 5] [--n 20000]. Server: BKT_BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres); works in a scratch database it drops afterwards.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/postgres-driver.js';
import { createBenchDatabase } from './support/scratch-db.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '20000' } } });
const ROUNDS = Number(args.rounds);
const N = Number(args.n);
const SERVER = process.env.BKT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The loop, with `body` run once per pair (s, c: uuids of a random pair). */
const loop = (body: string) => `
DO $$
DECLARE i int; s uuid; c uuid;
BEGIN
  FOR i IN 1..${N} LOOP
    s := md5('s' || (1 + floor(random() * 2000))::int)::uuid;
    c := md5('c' || (1 + floor(random() * 50))::int)::uuid;
    ${body}
  END LOOP;
END $$`;

/** The upsert of write_response (migration 20261127300000), into `table`. */
const upsert = (table: string) => `
    INSERT INTO ${table} AS o (kind, student_id, concept_id, level, mastered, version, updated_at)
    VALUES ('mastery', s, c, 0.5, false, pg_catalog.nextval('bkt_internal.graph_version_seq'), pg_catalog.now())
    ON CONFLICT (kind, student_id, concept_id) DO UPDATE
      SET level = excluded.level, mastered = excluded.mastered, version = excluded.version, updated_at = excluded.updated_at
      WHERE o.version < excluded.version;`;

/** Columns back to their base types, with no rule on them (the copies start as LIKE graph_outbox, domains included). */
const baseTypes = (table: string) =>
  `ALTER TABLE ${table} ALTER COLUMN kind TYPE text, ALTER COLUMN level TYPE double precision, ALTER COLUMN version TYPE bigint`;

const VARIANTS: { name: string; table?: string; setup?: string }[] = [
  { name: 'baseline: the loop drawing pairs' },
  { name: 'bkt_internal.graph_outbox as migrated', table: 'bkt_internal.graph_outbox' },
  {
    name: 'its rules as four table CHECKs',
    table: 'bench.table_checks',
    setup:
      'CREATE TABLE bench.table_checks (LIKE bkt_internal.graph_outbox INCLUDING ALL EXCLUDING CONSTRAINTS); ' +
      `${baseTypes('bench.table_checks')}, ADD CHECK (kind IN ('mastery', 'removal')), ADD CHECK (level BETWEEN 0 AND 1), ` +
      "ADD CHECK (version >= 1), ADD CHECK ((kind = 'mastery' AND level IS NOT NULL AND mastered IS NOT NULL AND updated_at IS NOT NULL) " +
      "OR (kind = 'removal' AND concept_id = '00000000-0000-0000-0000-000000000000' AND level IS NULL))",
  },
  {
    name: 'without any rule',
    table: 'bench.no_rules',
    setup: `CREATE TABLE bench.no_rules (LIKE bkt_internal.graph_outbox INCLUDING ALL EXCLUDING CONSTRAINTS); ${baseTypes('bench.no_rules')}`,
  },
  {
    name: 'without the seq identity and its index',
    table: 'bench.no_seq',
    setup: 'CREATE TABLE bench.no_seq (LIKE bkt_internal.graph_outbox INCLUDING ALL); ALTER TABLE bench.no_seq DROP COLUMN seq',
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const scratch = await createBenchDatabase(SERVER);
try {
  const db = openPostgres({ connectionString: scratch.url, poolSize: 1, poolTimeoutMs: 5000, statementTimeoutMs: 600_000, lockTimeoutMs: 2000 });
  await migrate(db);
  await db.close();
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  try {
    await client.query('CREATE SCHEMA bench');
    for (const v of VARIANTS) if (v.setup) await client.query(v.setup);
    const times = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS + 1; round++) {
      for (const v of VARIANTS) {
        if (v.table) await client.query(`TRUNCATE ${v.table}`);
        const t0 = performance.now();
        await client.query(loop(v.table ? upsert(v.table) : ''));
        const ms = performance.now() - t0;
        if (round > 0) times.get(v.name)!.push(ms); // round 0 warms the caches
      }
    }
    const base = median(times.get(VARIANTS[0].name)!);
    console.log(`outbox upsert, PL/pgSQL loop of ${N} random pairs in one backend, median of ${ROUNDS} rounds (µs per upsert):`);
    for (const v of VARIANTS.slice(1)) {
      const perRound = times.get(v.name)!.map((ms) => ((ms - base) * 1000) / N);
      console.log(`  ${v.name.padEnd(40)} ${median(perRound).toFixed(1).padStart(5)}  (rounds: ${perRound.map((x) => x.toFixed(1)).join(', ')})`);
    }
  } finally {
    await client.end();
  }
} finally {
  await scratch.drop();
}
