/**
 * bench/pg-floor: what PostgreSQL alone delivers on this machine, with none of bkt-engine's code in the way. pgbench
 * (shipped with the server) runs an open loop at the same rate and with as many connections as the update benches,
 * first its built-in simple-update transaction (an UPDATE of a random account, a SELECT and an INSERT into a history
 * table, one commit: a write transaction of the size of one answer), then its select-only transaction, on a scratch
 * database. Latency is counted from each transaction's scheduled start (pgbench's latency plus its schedule lag), as
 * bench/http-update counts it.
 *
 * Not pgbench's default TPC-B transaction: it also updates one of only `scale` branch rows, so with 10 connections at
 * scale 10 its transactions queue on each other's row locks through every commit, a hot spot the service does not
 * have (its writes spread over the (student, concept) pairs). Its p99 measures that queue, not the server.
 *
 * The p99 of the write transaction is the floor under any update path's p99 here: a figure above it is what the
 * service adds, a figure near it is the machine. Modes alternate run by run.
 *
 * Run: npx tsx bench/pg-floor.ts [--rate 775] [--clients 10] [--seconds 10] [--runs 3] [--scale 10]
 * Server: BKT_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres). Needs pgbench on PATH or in
 * the server's bin directory (`pg_config --bindir`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBenchDatabase } from './support/scratch-db.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '775' },
    clients: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    scale: { type: 'string', default: '10' },
  },
});
const RATE = Number(args.rate);
const CLIENTS = Number(args.clients);
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const SCALE = Number(args.scale);
for (const [name, v] of Object.entries({ rate: RATE, clients: CLIENTS, seconds: SECONDS, runs: RUNS, scale: SCALE })) {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`--${name} must be a positive number, got ${String(v)}`);
}
const SERVER = process.env.BKT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** pgbench on PATH, else in the server's bin directory. */
function findPgbench(): string {
  if (spawnSync('pgbench', ['--version'], { encoding: 'utf8' }).status === 0) return 'pgbench';
  let bindir = '';
  try {
    bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    // no pg_config either
  }
  const found = join(bindir, 'pgbench');
  if (bindir === '' || !existsSync(found)) throw new Error('pgbench not found: install the PostgreSQL server package or put pgbench on PATH');
  return found;
}

/** libpq's connection arguments for a postgres:// URL (its password, if any, goes in the environment). */
function libpqArgs(url: string): string[] {
  const u = new URL(url);
  return ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), u.pathname.slice(1)];
}
const libpqEnv = (url: string) => {
  const password = decodeURIComponent(new URL(url).password);
  return password === '' ? process.env : { ...process.env, PGPASSWORD: password };
};

const quantile = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Figures {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

/** One open-loop pgbench run; latencies from its per-transaction log (ms, from the scheduled start). */
function run(pgbench: string, url: string, mode: 'write' | 'select-only'): Figures {
  const dir = mkdtempSync(join(tmpdir(), 'bkt-pg-floor-'));
  try {
    const prefix = join(dir, 'tx');
    const result = spawnSync(
      pgbench,
      ['-n', '-c', String(CLIENTS), '-j', '2', '-R', String(RATE), '-T', String(SECONDS), '-l', `--log-prefix=${prefix}`,
        mode === 'select-only' ? '-S' : '-N', ...libpqArgs(url)],
      { encoding: 'utf8', env: libpqEnv(url) },
    );
    if (result.status !== 0) throw new Error(`pgbench failed: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    const latencies: number[] = [];
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        // client transaction latency_us script epoch_s epoch_us schedule_lag_us
        const f = line.trim().split(/\s+/);
        if (f.length < 7) continue;
        latencies.push((Number(f[2]) + Number(f[6])) / 1000);
      }
    }
    const sorted = Float64Array.from(latencies).sort();
    return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1], n: sorted.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pgbench = findPgbench();
const scratch = await createBenchDatabase(SERVER);
try {
  const init = spawnSync(pgbench, ['-i', '-q', '-s', String(SCALE), ...libpqArgs(scratch.url)], { encoding: 'utf8', env: libpqEnv(scratch.url) });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr.trim()}`);
  console.log(`PostgreSQL alone (pgbench, scale ${SCALE}): open loop at ${RATE}/s, ${CLIENTS} connections, ${RUNS} runs of ${SECONDS} s per mode`);
  const modes = ['write', 'select-only'] as const;
  const results = new Map<string, Figures[]>(modes.map((m) => [m, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      const f = run(pgbench, scratch.url, mode);
      results.get(mode)!.push(f);
      process.stderr.write(`run ${r + 1}/${RUNS} ${mode}: p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, max ${f.max.toFixed(1)} ms, ${f.n} transactions\n`);
    }
  }
  console.log('median of runs:');
  for (const mode of modes) {
    const list = results.get(mode)!;
    const label = mode === 'write' ? 'simple-update (write)' : 'select-only';
    console.log(
      `  ${label.padEnd(24)} p50 ${median(list.map((f) => f.p50)).toFixed(2).padStart(6)} ms  p99 ${median(list.map((f) => f.p99)).toFixed(2).padStart(7)} ms` +
        `  max ${median(list.map((f) => f.max)).toFixed(1).padStart(6)} ms  (${median(list.map((f) => f.n / SECONDS)).toFixed(0)}/s)`,
    );
  }
} finally {
  await scratch.drop();
}
