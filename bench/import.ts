/**
 * bench/import: rows per second of `bkt import` (the built bin, as users run it) into a fresh database on the
 * PostgreSQL server and into a fresh PGlite data directory, and, for reference, the server's own ceiling on this
 * machine: the same rows inserted by one INSERT ... SELECT inside the server (no client, no parsing), with the
 * history table's indexes.
 *
 *   npm run build && npx tsx bench/import.ts [--data assist2009.csv] [--runs 3] [--no-pglite]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'assist2009.csv' },
    runs: { type: 'string', default: '3' },
    'no-pglite': { type: 'boolean', default: false },
  },
});
const DATA = resolve(import.meta.dirname, '../../shared/data', args.data!);
const RUNS = Number(args.runs);
const SERVER = process.env.BKT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MAIN = resolve(import.meta.dirname, '../dist/cli/main.js');

interface Run {
  rows: number;
  importSeconds: number;
  wallSeconds: number;
}

function runImport(env: Record<string, string>): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, 'import', DATA, '--json'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`bkt import failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout);
  return { rows: s.rows_imported, importSeconds: s.seconds.import, wallSeconds: wall };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const withDb = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function report(label: string, runs: Run[]): void {
  const rate = median(runs.map((r) => r.rows / r.importSeconds));
  const wallRate = median(runs.map((r) => r.rows / r.wallSeconds));
  console.log(
    `| ${label} | ${runs[0].rows.toLocaleString('en-US')} | ${median(runs.map((r) => r.importSeconds)).toFixed(2)} | ` +
      `${median(runs.map((r) => r.wallSeconds)).toFixed(2)} | ${Math.round(rate).toLocaleString('en-US')} | ${Math.round(wallRate).toLocaleString('en-US')} |`,
  );
}

async function serverCeiling(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE bench_copy (LIKE public.mastery_history INCLUDING ALL)');
    const t0 = performance.now();
    const r = await c.query('INSERT INTO bench_copy SELECT * FROM public.mastery_history');
    const seconds = (performance.now() - t0) / 1000;
    await c.query('DROP TABLE bench_copy');
    return (r.rowCount ?? 0) / seconds;
  } finally {
    await c.end();
  }
}

console.log(`bkt import of ${args.data}, median of ${RUNS} runs`);
console.log('| target | rows | import phase s | wall s | rows/s (import phase) | rows/s (wall) |');
console.log('|---|---|---|---|---|---|');
const server: Run[] = [];
const ceilings: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const name = `bkt_bench_import_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  try {
    server.push(runImport({ DATABASE_URL: withDb(SERVER, name), LOG_LEVEL: 'silent' }));
    ceilings.push(await serverCeiling(withDb(SERVER, name)));
  } finally {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}
report('PostgreSQL server', server);
if (!args['no-pglite']) {
  const pglite: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bkt-bench-import-'));
    try {
      pglite.push(runImport({ BKT_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  report('PGlite', pglite);
}
console.log(
  `\nserver ceiling (the same rows by INSERT ... SELECT inside the server, all history indexes): ` +
    `${Math.round(median(ceilings)).toLocaleString('en-US')} rows/s`,
);
