/**
 * bench/http-update: the update path's latency and throughput, direct (the same transaction through the driver and
 * pool, in this process) and through `bkt serve` over HTTP (a child process on 127.0.0.1).
 *
 *   1. Seed students x concepts pairs (default 10k x 50) in a fresh database on the server.
 *   2. Per run: direct closed-loop maximum, then open-loop at 25/50/75% of the calibrated direct maximum, direct and
 *      HTTP alternating, a hot-pair run (every update on one pair) and the HTTP closed-loop maximum.
 *   3. Print the median over the runs of p50/p99 (ms) and throughput (updates/s), and synchronous_commit.
 *   4. PGlite for reference (smaller seed, one run).
 *
 * The closed-loop maxima also give, per run, HTTP / direct and the CPU time per update of each side: this process
 * (direct: the service and driver; HTTP: the load generator), `bkt serve` (every thread) and the bench database's
 * PostgreSQL backends, and the context switches per update of the direct process and of `bkt serve`; `bkt serve` logs
 * at the default level (LOG_LEVEL overrides it). The load generator is a lean keep-alive client (bench/support/http-client.ts; --client undici
 * for a general one), since on a small machine its CPU competes with the server's. --max-only skips the open loops.
 *
 * Open-loop latency is measured from each request's scheduled start, so a stall is counted, not hidden. Where a
 * kdamond kernel thread runs (DAMON), open-loop figures are also split by its bursts (bench/support/kernel-stalls.ts):
 * the p99 of requests that did not overlap one, and the share of requests over 10 ms that did. The headline p99
 * counts every request.
 * Run: npm run build && npm run bench:http-update -- [--runs 5] [--duration 5] [--students 10000] [--concepts 50]
 *      [--pool 10] [--no-pglite] [--max-only] [--client lean|undici]. Server: BKT_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 *
 * --graph instead compares the graph projection off and on (docs/graph.md): the app in this process (createRuntime,
 * listening on 127.0.0.1) at 50% (--load 0.5) of its own closed-loop maximum with the projection off, then per run,
 * in turn: off; on with the real Neo4j writer at a closed port (the relay failing and retrying); on with the
 * RecordingGraphWriter (the relay draining after every commit). The order of the modes turns each run. Prints per mode: the median p50/p99;
 * the p99 against the same run's p99 with the projection off (median of the per-run ratios, with a 90% interval from a
 * bootstrap over runs); the p99 of all runs' requests pooled, against off's; and CPU time per update, of this process
 * (app and load generator) and of PostgreSQL's processes (bench/support/cpu-meter.ts), which a kernel stall does not
 * move, WAL bytes per update (the server's whole WAL over the run, so anything else writing counts too), and how busy
 * the whole machine was (/proc/stat: all cores, neither idle nor waiting for I/O). A stall sets a run's p99 on this
 * kind of machine (see above), so the interval says how far the figures can be trusted. --control adds a second off
 * mode to every run, compared with off like the others: what the figures read when nothing differs. --rate N offers N
 * updates/s instead of --load's share of the calibrated maximum, which itself varies from one invocation to the next.
 * Last, a verdict per mode on the target, p99 within 10% of off, from the per-run interval and, with --control, the
 * control's (bench/support/verdict.ts).
 *
 * --items instead compares item-aware updates with plain ones (docs/service.md): every concept gets parameters and
 * --items-per-concept items with their own guess, slip, learn and forget; per run, in turn, the closed-loop maximum
 * and the open loop at 50% of the calibrated direct maximum of: direct (the baseline above, plain updates), HTTP
 * plain (no item_id), HTTP with items (every update names an item that has parameters, so each one is computed with
 * the item's values). Prints the medians and, per figure, the median over runs of the per-run ratio items / plain,
 * against the target of items within 10% of plain.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CpuSpent, meterCpu } from './support/cpu-meter.js';
import { LeanHttpClient } from './support/http-client.js';
import { createBenchDatabase } from './support/scratch-db.js';
import { damonSettings, KernelStallProbe } from './support/kernel-stalls.js';
import { freePort, startServe } from './support/serve.js';
import { verdict, type Interval } from './support/verdict.js';
import { Pool } from 'undici';
import { loadConfig } from '../src/config.js';
import { RecordingGraphWriter } from '../src/graph/recording-writer.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { MasteryService, ParametersCache } from '../src/service/index.js';
import { setGraphEnabled } from '../src/store/graph-admin.js';
import { pairsWrittenHook } from '../src/store/outbox-hook.js';
import { migrate } from '../src/store/migrate.js';
import { openPglite } from '../src/store/pglite-driver.js';
import { openPostgres } from '../src/store/postgres-driver.js';
import { SqlAdminStore } from '../src/store/admin-store.js';
import { SqlStore } from '../src/store/sql-store.js';
import { makeParams } from '../src/bkt/index.js';
import type { SqlDatabase } from '../src/store/sql.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    students: { type: 'string', default: '10000' },
    concepts: { type: 'string', default: '50' },
    pool: { type: 'string', default: '10' },
    'no-pglite': { type: 'boolean', default: false },
    graph: { type: 'boolean', default: false },
    load: { type: 'string', default: '0.5' },
    control: { type: 'boolean', default: false },
    rate: { type: 'string' },
    items: { type: 'boolean', default: false },
    'items-per-concept': { type: 'string', default: '200' },
    client: { type: 'string', default: 'lean' },
    'max-only': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.duration);
const STUDENTS = Number(args.students);
const CONCEPTS = Number(args.concepts);
const POOL = Number(args.pool);
/** --graph only: the open loop's rate as a share of the app's closed-loop maximum. */
const LOAD = Number(args.load);
if (!(LOAD > 0 && LOAD <= 1)) throw new RangeError(`--load must be in (0, 1], got ${args.load}`);
/**
 * --graph only: a second off mode in every run, measured and compared with off like the others. Its ratios show what
 * the method reads when nothing differs: the resolution of the figures for the two real modes.
 */
const CONTROL = args.control;
/** --graph only: a fixed open-loop rate (updates/s) instead of a share of the calibrated maximum, for runs to compare. */
const RATE = args.rate === undefined ? undefined : Number(args.rate);
if (RATE !== undefined && !(RATE > 0)) throw new RangeError(`--rate must be a positive number of updates/s, got ${args.rate}`);
/** The load generator's HTTP client: `lean` (bench/support/http-client.ts) or `undici` (a general client, for comparison). */
const CLIENT = args.client;
if (CLIENT !== 'lean' && CLIENT !== 'undici') throw new RangeError(`--client must be lean or undici, got ${args.client}`);
const SERVER = process.env.BKT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TIMEOUTS = { statementTimeoutMs: 5000, lockTimeoutMs: 2000 };

/** The same ids in SQL (md5(text)::uuid) and here. */
const uuidOf = (text: string) => createHash('md5').update(text).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

interface Figures {
  p50: number;
  p99: number;
  rate: number;
  errors: number;
  /** Open loop with the kernel probe: p99 of the requests that did not overlap a kdamond burst. */
  p99Outside?: number;
  /** Open loop with the kernel probe: of the requests slower than 10 ms, the share that overlapped a burst. */
  slowInBursts?: number;
  /** Every latency, ascending (for figures pooled over runs). */
  sorted?: Float64Array;
}

/** The q-quantile of an ascending array: the value at rank floor(q * n). */
const quantileOf = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

function quantiles(latencies: ArrayLike<number>) {
  const sorted = Float64Array.from(latencies).sort();
  return (q: number) => quantileOf(sorted, q);
}

/** p50, p99 and rate; `sorted` keeps every latency for figures pooled over runs. */
function summarise(latencies: number[], seconds: number, errors: number): Figures {
  const sorted = Float64Array.from(latencies).sort();
  return { p50: quantileOf(sorted, 0.5), p99: quantileOf(sorted, 0.99), rate: latencies.length / seconds, errors, sorted };
}

const probe = new KernelStallProbe();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Values <= v in an ascending array. */
function countAtMost(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The q-quantile of all the runs' latencies taken together (each run sorted), found by bisection on the value. */
function pooledQuantile(runs: readonly Float64Array[], q: number): number {
  const n = runs.reduce((t, r) => t + r.length, 0);
  const rank = Math.min(n - 1, Math.floor(q * n)); // as quantileOf(): the value at this 0-based rank
  let lo = Math.min(...runs.map((r) => r[0]));
  let hi = Math.max(...runs.map((r) => r[r.length - 1]));
  for (let i = 0; i < 60 && hi - lo > 1e-9; i++) {
    const mid = (lo + hi) / 2;
    if (runs.reduce((t, r) => t + countAtMost(r, mid), 0) > rank) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Pooled p99 of `mode` over pooled p99 of `base`, and a 90% interval for it from a bootstrap over runs: runs are drawn
 * with replacement, each draw taking the same runs for both, since a run's modes ran back to back.
 */
function pooledRatio(base: readonly Float64Array[], mode: readonly Float64Array[]): Interval {
  const ratio = (runs: number[]) => pooledQuantile(runs.map((i) => mode[i]), 0.99) / pooledQuantile(runs.map((i) => base[i]), 0.99);
  return bootstrap(base.length, ratio);
}

/**
 * `statistic` of all `runs` runs, and its 90% interval from a bootstrap over runs: runs drawn with replacement, the
 * same draw for every mode, since a run's modes ran back to back.
 */
function bootstrap(runs: number, statistic: (runs: number[]) => number, draws = 2000): Interval {
  const values: number[] = [];
  for (let d = 0; d < draws; d++) values.push(statistic(Array.from({ length: runs }, () => Math.floor(Math.random() * runs))));
  values.sort((a, b) => a - b);
  return {
    value: statistic(Array.from({ length: runs }, (_, i) => i)),
    low: values[Math.floor(0.05 * draws)],
    high: values[Math.floor(0.95 * draws)],
  };
}

type Send = (student: string, concept: string) => Promise<boolean>;

function randomPair(students: string[], concepts: string[]): [string, string] {
  return [students[Math.floor(Math.random() * students.length)], concepts[Math.floor(Math.random() * concepts.length)]];
}

/** Closed loop: `workers` callers back to back for `seconds`. */
async function closedLoop(send: Send, pick: () => [string, string], workers: number, seconds: number): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if (await send(...pick())) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  return summarise(latencies, seconds, errors);
}

/** Open loop: requests start on schedule at `rate` per second whatever the answers do. */
async function openLoop(send: Send, pick: () => [string, string], rate: number, seconds: number): Promise<Figures> {
  const latencies: number[] = [];
  const starts: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.floor(rate * seconds);
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const scheduled = start + (sent / rate) * 1000;
      inFlight.push(
        send(...pick()).then((ok) => {
          if (ok) {
            latencies.push(performance.now() - scheduled);
            starts.push(scheduled);
          } else errors++;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  const figures = summarise(latencies, (performance.now() - start) / 1000, errors);
  if (probe.pids.length === 0) return figures;
  const outside: number[] = [];
  let slow = 0;
  let slowInside = 0;
  latencies.forEach((l, i) => {
    const inside = probe.overlaps(starts[i], starts[i] + l);
    if (!inside) outside.push(l);
    if (l > 10) {
      slow++;
      if (inside) slowInside++;
    }
  });
  return { ...figures, p99Outside: quantiles(outside)(0.99), slowInBursts: slow === 0 ? 0 : slowInside / slow };
}

/** Seeds the server database at `url` on a connection of its own, whose timeouts allow a seed of any size. */
async function seedServer(url: string, students: number, concepts: number): Promise<void> {
  const db = openPostgres({ connectionString: url, poolSize: 1, poolTimeoutMs: 5000, statementTimeoutMs: 600_000, lockTimeoutMs: 2000 });
  try {
    await seed(db, students, concepts);
  } finally {
    await db.close();
  }
}

async function seed(db: SqlDatabase, students: number, concepts: number): Promise<void> {
  await migrate(db);
  await db.exec(`
    INSERT INTO public.student_mastery (student_id, concept_id, p_known, p_unknown)
    SELECT md5('s' || s)::uuid, md5('c' || c)::uuid, 0.1, 0.9
    FROM generate_series(1, ${students}) s, generate_series(1, ${concepts}) c;
    ANALYZE public.student_mastery;`);
}

/**
 * The same transaction as `bkt serve`'s, in this process: the same store with the graph outbox hook that the runtime
 * registers (migrated database), so that both read the projection's flag and write the outbox row in the update's
 * transaction when it is on.
 */
function directSender(db: SqlDatabase): { send: Send; stop: () => void; ready: Promise<void> } {
  const store = new SqlStore(db);
  store.onPairsWritten(pairsWrittenHook(0.95));
  const parameters = new ParametersCache(store, 500);
  const service = new MasteryService({ store, parameters, threshold: 0.95 });
  return {
    ready: parameters.start(),
    stop: () => parameters.stop(),
    send: async (s, c) => {
      try {
        await service.recordResponse({ studentId: s, conceptId: c, correct: Math.random() < 0.7, responseId: randomUUID() });
        return true;
      } catch {
        return false;
      }
    },
  };
}



/** One update's JSON body, a new response id each time; with `item`, naming the item it returns. */
function updateBody(s: string, c: string, item?: () => string): string {
  const itemField = item === undefined ? '' : `,"item_id":${JSON.stringify(item())}`;
  return `{"student_id":"${s}","concept_id":"${c}","correct":${Math.random() < 0.7},"response_id":"${randomUUID()}"${itemField}}`;
}

/**
 * Posts updates over keep-alive connections (up to 128, one request in flight on each); with `item`, each one names
 * the item it returns (item-aware updates). --client picks the lean client or undici's Pool.
 */
function httpSender(url: string, item?: () => string): { send: Send; close: () => Promise<void> } {
  if (CLIENT === 'lean') {
    const client = new LeanHttpClient(url, 128);
    return {
      close: () => client.close(),
      send: async (s, c) => (await client.post('/api/bkt/update', updateBody(s, c, item))) === 200,
    };
  }
  const client = new Pool(url, { connections: 128, pipelining: 1 });
  return {
    close: () => client.close(),
    send: async (s, c) => {
      const r = await client.request({ method: 'POST', path: '/api/bkt/update', body: updateBody(s, c, item), headers: { 'content-type': 'application/json' } });
      await r.body.dump();
      return r.statusCode === 200;
    },
  };
}

const fmt = (f: Figures) =>
  `p50 ${f.p50.toFixed(2).padStart(7)} ms  p99 ${f.p99.toFixed(2).padStart(7)} ms  ${f.rate.toFixed(0).padStart(6)} /s${f.errors ? `  errors ${f.errors}` : ''}` +
  (f.p99Outside === undefined ? '' : `  | outside kdamond bursts p99 ${f.p99Outside.toFixed(2).padStart(6)} ms, ${((f.slowInBursts ?? 0) * 100).toFixed(0).padStart(3)}% of >10 ms in bursts`);

function medianFigures(list: Figures[]): Figures {
  const f: Figures = { p50: median(list.map((f) => f.p50)), p99: median(list.map((f) => f.p99)), rate: median(list.map((f) => f.rate)), errors: list.reduce((n, f) => n + f.errors, 0) };
  if (list.every((x) => x.p99Outside !== undefined)) {
    f.p99Outside = median(list.map((x) => x.p99Outside!));
    f.slowInBursts = median(list.map((x) => x.slowInBursts!));
  }
  return f;
}

/** Says whether the kernel probe runs, and what DAMON is set to. */
function describeProbe(): void {
  const damon = damonSettings();
  if (damon) console.log(damon);
  console.log(
    probe.pids.length === 0
      ? 'no kdamond thread: open-loop figures are not split by kernel bursts'
      : `kdamond thread(s) ${probe.pids.join(', ')}: open-loop figures also give p99 outside its bursts (bench/support/kernel-stalls.ts)`,
  );
}

async function serverBench(): Promise<void> {
  const scratch = await createBenchDatabase(SERVER);
  const dbUrl = scratch.url;
  const db = openPostgres({ connectionString: dbUrl, poolSize: POOL, poolTimeoutMs: 5000, ...TIMEOUTS });
  let serve: { child: ChildProcess; url: string } | undefined;
  try {
    const sc = await db.query<{ v: string }>('SHOW synchronous_commit');
    console.log(`server: ${(await db.query<{ v: string }>('SELECT version() AS v'))[0].v.split(' on ')[0]}, synchronous_commit=${Object.values(sc[0])[0]}, pool ${POOL}`);
    const t0 = performance.now();
    await seedServer(dbUrl, STUDENTS, CONCEPTS);
    console.log(`seeded ${STUDENTS} x ${CONCEPTS} pairs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const students = Array.from({ length: STUDENTS }, (_, i) => uuidOf(`s${i + 1}`));
    const concepts = Array.from({ length: CONCEPTS }, (_, i) => uuidOf(`c${i + 1}`));
    const pick = () => randomPair(students, concepts);
    const hot = (): [string, string] => [students[0], concepts[0]];
    const direct = directSender(db);
    await direct.ready;
    // At the default log level: the one line per request that a deployment writes is part of its cost.
    serve = await startServe({ DATABASE_URL: dbUrl, BKT_POOL_SIZE: String(POOL), BKT_MIGRATE: 'false', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' });
    const http = httpSender(serve.url);
    // Warm-up (JIT, caches, connections) and calibration: the direct maximum sets the open-loop rates.
    await closedLoop(direct.send, pick, POOL * 2, 3);
    await closedLoop(http.send, pick, POOL * 8, 3);
    const calibration = await closedLoop(direct.send, pick, POOL * 2, SECONDS);
    const max = calibration.rate;
    console.log(`direct maximum (calibration): ${fmt(calibration)}`);
    const loads = [0.25, 0.5, 0.75];
    const results = new Map<string, Figures[]>();
    const add = (k: string, f: Figures) => results.set(k, [...(results.get(k) ?? []), f]);
    /** Per run: HTTP max / direct max, and CPU µs per update of each side. */
    const ratios: number[] = [];
    const directCpu: { app: number; db: number; switches: number }[] = [];
    const httpCpu: { client: number; server: number; db: number; switches: number }[] = [];
    const serverPid = serve.child.pid;
    const dbName = new URL(dbUrl).pathname.slice(1);
    for (let run = 1; run <= RUNS; run++) {
      // The kernel probe only serves the open loops; its sampling (every 2 ms) would count as load-generator CPU here.
      probe.stop();
      // The order turns each run, so that neither maximum always runs second.
      const measured: Record<'direct' | 'http', { f: Figures; spent: CpuSpent }> = {} as never;
      for (const mode of run % 2 === 1 ? (['direct', 'http'] as const) : (['http', 'direct'] as const)) {
        const stop = meterCpu('postgres', { childPid: serverPid, database: dbName });
        const f = mode === 'direct' ? await closedLoop(direct.send, pick, POOL * 2, SECONDS) : await closedLoop(http.send, pick, POOL * 8, SECONDS);
        measured[mode] = { f, spent: stop() };
      }
      const perUpdate = (ms: number, f: Figures) => (ms * 1000) / (f.rate * SECONDS);
      const d = measured.direct;
      const h = measured.http;
      const perUpdateCount = (n: number, f: Figures) => n / (f.rate * SECONDS);
      directCpu.push({ app: perUpdate(d.spent.processMs, d.f), db: perUpdate(d.spent.serverMs, d.f), switches: perUpdateCount(d.spent.processSwitches, d.f) });
      httpCpu.push({
        client: perUpdate(h.spent.processMs, h.f),
        server: perUpdate(h.spent.childMs, h.f),
        db: perUpdate(h.spent.serverMs, h.f),
        switches: perUpdateCount(h.spent.childSwitches, h.f),
      });
      ratios.push(h.f.rate / d.f.rate);
      probe.start();
      add('direct max (closed loop)', d.f);
      add('http max (closed loop)', h.f);
      for (const load of args['max-only'] ? [] : loads) {
        add(`direct ${load * 100}%`, await openLoop(direct.send, pick, max * load, SECONDS));
        add(`http   ${load * 100}%`, await openLoop(http.send, pick, max * load, SECONDS));
      }
      if (!args['max-only']) add('http hot pair at 25%', await openLoop(http.send, hot, max * 0.25, SECONDS));
      process.stderr.write(`run ${run}/${RUNS} done\n`);
    }
    console.log(`\nmedian of ${RUNS} runs, ${SECONDS} s each, open-loop rates from the direct maximum ${max.toFixed(0)}/s:`);
    for (const [k, list] of results) console.log(`  ${k.padEnd(26)} ${fmt(medianFigures(list))}`);
    const us = (xs: number[]) => `${median(xs).toFixed(0).padStart(4)} µs`;
    console.log(
      `\nhttp max / direct max (median of the per-run ratios, ${CLIENT} client): ${median(ratios).toFixed(3)}` +
        ` [runs: ${ratios.map((r) => r.toFixed(3)).join(' ')}], target at least 0.9`,
    );
    console.log("CPU per update in the closed loops (medians of runs; PostgreSQL: the bench database's backends):");
    console.log(
      `  direct  this process (service and driver) ${us(directCpu.map((x) => x.app))}, PostgreSQL ${us(directCpu.map((x) => x.db))}`,
    );
    console.log(
      `  http    bkt serve ${us(httpCpu.map((x) => x.server))}, PostgreSQL ${us(httpCpu.map((x) => x.db))},` +
        ` load generator (${CLIENT} client) ${us(httpCpu.map((x) => x.client))}`,
    );
    // Where the cores are the limit, throughput goes as 1 / CPU per update: these say what the HTTP layer costs, and
    // how much of the gap above is the load generator's, which shares the cores here but not in a deployment.
    const cpuRatio = (withClient: boolean) =>
      median(directCpu.map((d, i) => (d.app + d.db) / (httpCpu[i].server + httpCpu[i].db + (withClient ? httpCpu[i].client : 0)))).toFixed(3);
    console.log(`  direct / http CPU per update: ${cpuRatio(false)} without the load generator, ${cpuRatio(true)} with it`);
    const per = (xs: number[]) => median(xs).toFixed(2);
    console.log(
      `context switches per update: direct (this process) ${per(directCpu.map((x) => x.switches))}, bkt serve ${per(httpCpu.map((x) => x.switches))}`,
    );
    direct.stop();
    await http.close();
  } finally {
    serve?.child.kill('SIGTERM');
    await db.close();
    await scratch.drop();
  }
}

async function pgliteBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bkt-bench-'));
  const dataDir = join(dir, 'data');
  const students = Math.min(STUDENTS, 1000);
  try {
    const db = await openPglite(dataDir, TIMEOUTS);
    await seed(db, students, CONCEPTS);
    const ids = Array.from({ length: students }, (_, i) => uuidOf(`s${i + 1}`));
    const concepts = Array.from({ length: CONCEPTS }, (_, i) => uuidOf(`c${i + 1}`));
    const pick = () => randomPair(ids, concepts);
    const direct = directSender(db);
    await direct.ready;
    await closedLoop(direct.send, pick, 4, 1);
    const dmax = await closedLoop(direct.send, pick, 4, SECONDS);
    direct.stop();
    await db.close();
    const serve = await startServe({ BKT_DATA_DIR: dataDir, BKT_MIGRATE: 'false' });
    const http = httpSender(serve.url);
    try {
      await closedLoop(http.send, pick, 8, 1);
      const hmax = await closedLoop(http.send, pick, 8, SECONDS);
      const half = await openLoop(http.send, pick, dmax.rate * 0.5, SECONDS);
      console.log(`\nPGlite (${students} x ${CONCEPTS} pairs, one run, for reference):`);
      console.log(`  direct max (closed loop)   ${fmt(dmax)}`);
      console.log(`  http max (closed loop)     ${fmt(hmax)}`);
      console.log(`  http   50%                 ${fmt(half)}`);
    } finally {
      await http.close();
      serve.child.kill('SIGTERM');
      await new Promise((r) => serve.child.once('exit', r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type GraphMode = 'off' | 'off again (control)' | 'on, Neo4j at a closed port' | 'on, recording writer';

/** Whether the projection is on in this mode; the control is a second, identical off mode. */
const projectionOn = (mode: GraphMode) => mode.startsWith('on');

async function graphRuntime(db: SqlDatabase, dbUrl: string, mode: GraphMode, neo4jPort: number): Promise<{ runtime: Runtime; url: string }> {
  await setGraphEnabled(db, projectionOn(mode));
  // Every mode starts from the same state, whatever ran before it: no outbox rows and no dead ones (left to
  // autovacuum, the previous mode's rows would be vacuumed during this one), nor dead versions of the pairs.
  await db.query('DELETE FROM bkt_internal.graph_outbox');
  await db.query('VACUUM bkt_internal.graph_outbox, public.student_mastery');
  const config = loadConfig({ DATABASE_URL: dbUrl, BKT_POOL_SIZE: String(POOL), BKT_MIGRATE: 'false', LOG_LEVEL: 'error', PORT: '0' });
  const neo4j = { NEO4J_URI: `bolt://127.0.0.1:${neo4jPort}`, NEO4J_USER: 'neo4j', NEO4J_PASSWORD: 'bench' };
  const runtime = await createRuntime(config, {
    db,
    ...(projectionOn(mode) && { graphEnv: neo4j }),
    ...(mode === 'on, recording writer' && { graphWriter: new RecordingGraphWriter() }),
  });
  const url = await runtime.app.listen({ port: 0, host: '127.0.0.1' });
  return { runtime, url };
}

async function graphBench(): Promise<void> {
  const scratch = await createBenchDatabase(SERVER);
  const dbUrl = scratch.url;
  const db = openPostgres({ connectionString: dbUrl, poolSize: POOL, poolTimeoutMs: 5000, ...TIMEOUTS });
  try {
    await seedServer(dbUrl, STUDENTS, CONCEPTS);
    const students = Array.from({ length: STUDENTS }, (_, i) => uuidOf(`s${i + 1}`));
    const concepts = Array.from({ length: CONCEPTS }, (_, i) => uuidOf(`c${i + 1}`));
    const pick = () => randomPair(students, concepts);
    const neo4jPort = await freePort();
    const modes: GraphMode[] = ['off', ...(CONTROL ? (['off again (control)'] as const) : []), 'on, Neo4j at a closed port', 'on, recording writer'];
    // Calibration with the projection off: the closed-loop maximum of this in-process app.
    let rig = await graphRuntime(db, dbUrl, 'off', neo4jPort);
    let http = httpSender(rig.url);
    await closedLoop(http.send, pick, POOL * 8, 3);
    const max = (await closedLoop(http.send, pick, POOL * 8, SECONDS)).rate;
    await http.close();
    await rig.runtime.close();
    const offered = RATE ?? max * LOAD;
    console.log(
      `graph projection bench: ${STUDENTS} x ${CONCEPTS} pairs, pool ${POOL}, in-process app max ${max.toFixed(0)}/s, ` +
        `open loop at ${offered.toFixed(0)}/s (${((offered / max) * 100).toFixed(0)}% of it${RATE === undefined ? '' : ', set by --rate'})`,
    );
    const walAt = async () => (await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn;
    const results = new Map<GraphMode, Figures[]>(modes.map((m) => [m, []]));
    /** Per run and mode: p99 / the same run's p99 with the projection off. */
    const ratios = new Map<GraphMode, number[]>(modes.map((m) => [m, []]));
    /** Per run and mode, per update: CPU µs of this process (app and load generator) and of PostgreSQL; WAL bytes. */
    const cpu = new Map<GraphMode, { app: number; db: number; wal: number; busy: number }[]>(modes.map((m) => [m, []]));
    for (let run = 1; run <= RUNS; run++) {
      // The order turns each run, so that no mode always follows the same one (autovacuum, a backlog left behind).
      const order = modes.map((_, i) => modes[(i + run - 1) % modes.length]);
      const byMode = new Map<GraphMode, Figures>();
      for (const mode of order) {
        rig = await graphRuntime(db, dbUrl, mode, neo4jPort);
        http = httpSender(rig.url);
        await closedLoop(http.send, pick, POOL * 2, 1); // warm-up of this runtime
        const walBefore = await walAt();
        const stop = meterCpu();
        const f = await openLoop(http.send, pick, offered, SECONDS);
        const spent = stop();
        const walAfter = await walAt();
        const [{ bytes }] = await db.query<{ bytes: number }>('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::float8 AS bytes', [walAfter, walBefore]);
        const served = f.rate * SECONDS;
        cpu.get(mode)!.push({
          app: (spent.processMs * 1000) / served,
          db: (spent.serverMs * 1000) / served,
          wal: bytes / served,
          busy: spent.machineBusy,
        });
        byMode.set(mode, f);
        results.get(mode)!.push(f);
        const backlog = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bkt_internal.graph_outbox'))[0].n;
        const relay = rig.runtime.graph.relay?.metrics();
        process.stderr.write(
          `run ${run}/${RUNS} ${mode}: p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ${spent.majorFaults} major page faults, outbox ${backlog} rows` +
            `${relay ? `, relay failures ${relay.failures}` : ''}\n`,
        );
        await http.close();
        await rig.runtime.close();
      }
      for (const mode of modes) ratios.get(mode)!.push(byMode.get(mode)!.p99 / byMode.get('off')!.p99);
    }
    const off = medianFigures(results.get('off')!).p99;
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
    console.log(`\nmedian of ${RUNS} runs, ${SECONDS} s each:`);
    for (const [mode, list] of results) {
      const f = medianFigures(list);
      console.log(`  ${mode.padEnd(28)} ${fmt(f)}  p99 ${mode === 'off' ? '' : `${pct((f.p99 - off) / off)} vs off`}`);
    }
    const runsOf = (mode: GraphMode) => results.get(mode)!.map((f) => f.sorted!);
    const interval = (i: Interval) => `${pct(i.value - 1).padStart(7)} [${pct(i.low - 1)}, ${pct(i.high - 1)}]`.padEnd(28);
    console.log(
      `\np99 against off, with 90% intervals (bootstrap over runs): the median of the per-run ratios, and the p99 of all ${RUNS} ` +
        "runs' requests pooled; CPU time and WAL per update, and the machine's busy share (medians of runs):",
    );
    /** The median of the per-run ratios, with its interval: the figure the verdict below reads. */
    const perRunIntervals = new Map<GraphMode, Interval>();
    for (const mode of modes.filter((m) => m !== 'off')) {
      const perRun = ratios.get(mode)!;
      perRunIntervals.set(mode, bootstrap(RUNS, (runs) => median(runs.map((i) => perRun[i]))));
    }
    for (const mode of modes) {
      const c = cpu.get(mode)!;
      const app = median(c.map((x) => x.app));
      const dbUs = median(c.map((x) => x.db));
      const pooled = pooledQuantile(runsOf(mode), 0.99);
      const perRun = ratios.get(mode)!;
      console.log(
        `  ${mode.padEnd(28)} ` +
          (mode === 'off'
            ? `${'per-run   --'.padEnd(37)} pooled ${pooled.toFixed(2).padStart(6)} ms ${''.padEnd(28)}`
            : `per-run ${interval(perRunIntervals.get(mode)!)} ` +
              `pooled ${pooled.toFixed(2).padStart(6)} ms ${interval(pooledRatio(runsOf('off'), runsOf(mode)))}`) +
          `  CPU/update: app ${app.toFixed(0)} µs, PostgreSQL ${dbUs.toFixed(0)} µs, total ${(app + dbUs).toFixed(0)} µs;` +
          ` WAL ${median(c.map((x) => x.wal)).toFixed(0)} bytes/update; machine ${(median(c.map((x) => x.busy)) * 100).toFixed(0)}% busy`,
      );
      if (mode !== 'off') process.stderr.write(`  ${mode} per-run p99 ratios: ${perRun.map((r) => pct(r - 1)).join(' ')}\n`);
    }
    const control = CONTROL ? perRunIntervals.get('off again (control)') : undefined;
    console.log('\ntarget, p99 within 10% of off (the per-run median\'s 90% interval):');
    for (const mode of modes.filter(projectionOn)) {
      console.log(`  ${mode.padEnd(28)} ${verdict(perRunIntervals.get(mode)!, 0.1, control)}`);
    }
    if (!CONTROL) console.log('  (run with --control to see whether this machine can resolve 10% at all)');
  } finally {
    await db.close();
    await scratch.drop();
  }
}

/** Every concept's parameters, with `perConcept` items of their own guess, slip, learn and forget (ids i1..iN). */
async function seedItems(url: string, concepts: readonly string[], perConcept: number): Promise<void> {
  const db = openPostgres({ connectionString: url, poolSize: 1, poolTimeoutMs: 5000, statementTimeoutMs: 600_000, lockTimeoutMs: 2000 });
  try {
    const admin = new SqlAdminStore(db);
    for (const c of concepts) {
      await admin.putParameters(c, makeParams({ prior: 0.2, learn: 0.15, guess: 0.2, slip: 0.1, forget: 0 }));
      const item = (i: number) => ({
        itemId: `i${i + 1}`,
        guess: 0.05 + 0.4 * Math.random(),
        slip: 0.02 + 0.25 * Math.random(),
        learn: 0.05 + 0.3 * Math.random(),
        forget: 0.05 * Math.random(),
      });
      await admin.putItems(c, Array.from({ length: perConcept }, (_, i) => item(i)));
    }
  } finally {
    await db.close();
  }
}

async function itemsBench(): Promise<void> {
  const perConcept = Number(args['items-per-concept']);
  if (!(Number.isInteger(perConcept) && perConcept >= 1)) throw new RangeError(`--items-per-concept must be an integer >= 1, got ${args['items-per-concept']}`);
  const scratch = await createBenchDatabase(SERVER);
  const db = openPostgres({ connectionString: scratch.url, poolSize: POOL, poolTimeoutMs: 5000, ...TIMEOUTS });
  let serve: { child: ChildProcess; url: string } | undefined;
  try {
    await seedServer(scratch.url, STUDENTS, CONCEPTS);
    const students = Array.from({ length: STUDENTS }, (_, i) => uuidOf(`s${i + 1}`));
    const concepts = Array.from({ length: CONCEPTS }, (_, i) => uuidOf(`c${i + 1}`));
    await seedItems(scratch.url, concepts, perConcept);
    console.log(`items bench: ${STUDENTS} x ${CONCEPTS} pairs, ${perConcept} items per concept, pool ${POOL}`);
    const pick = () => randomPair(students, concepts);
    const item = () => `i${1 + Math.floor(Math.random() * perConcept)}`;
    const direct = directSender(db);
    await direct.ready;
    serve = await startServe({ DATABASE_URL: scratch.url, BKT_POOL_SIZE: String(POOL), BKT_MIGRATE: 'false' });
    const plain = httpSender(serve.url);
    const items = httpSender(serve.url, item);
    await closedLoop(direct.send, pick, POOL * 2, 3);
    await closedLoop(plain.send, pick, POOL * 8, 3);
    await closedLoop(items.send, pick, POOL * 8, 3);
    const max = (await closedLoop(direct.send, pick, POOL * 2, SECONDS)).rate;
    const modes = { direct: direct.send, 'http plain': plain.send, 'http items': items.send } as const;
    type Mode = keyof typeof modes;
    const names = Object.keys(modes) as Mode[];
    const closed = new Map<Mode, Figures[]>(names.map((m) => [m, []]));
    const open = new Map<Mode, Figures[]>(names.map((m) => [m, []]));
    for (let run = 1; run <= RUNS; run++) {
      // The order turns each run, so that no mode always follows the same one.
      const order = names.map((_, i) => names[(i + run - 1) % names.length]);
      for (const m of order) closed.get(m)!.push(await closedLoop(modes[m], pick, m === 'direct' ? POOL * 2 : POOL * 8, SECONDS));
      for (const m of order) open.get(m)!.push(await openLoop(modes[m], pick, max * 0.5, SECONDS));
      process.stderr.write(`run ${run}/${RUNS} done\n`);
    }
    console.log(`\nmedian of ${RUNS} runs, ${SECONDS} s each; open loop at 50% of the direct maximum ${max.toFixed(0)}/s:`);
    for (const m of names) console.log(`  ${`${m} max (closed loop)`.padEnd(28)} ${fmt(medianFigures(closed.get(m)!))}`);
    for (const m of names) console.log(`  ${`${m} 50%`.padEnd(28)} ${fmt(medianFigures(open.get(m)!))}`);
    const ratio = (list: Map<Mode, Figures[]>, f: (x: Figures) => number) =>
      median(list.get('http items')!.map((x, i) => f(x) / f(list.get('http plain')![i])));
    const within = (r: number, higherIsBetter: boolean) => ((higherIsBetter ? r >= 0.9 : r <= 1.1) ? 'within 10%' : 'NOT within 10%');
    const rows: [string, number, boolean][] = [
      ['max throughput', ratio(closed, (x) => x.rate), true],
      ['p50 at 50%', ratio(open, (x) => x.p50), false],
      ['p99 at 50%', ratio(open, (x) => x.p99), false],
    ];
    const sources = await db.query<{ params_source: string; n: number }>(
      'SELECT params_source, count(*)::int AS n FROM public.mastery_history GROUP BY 1 ORDER BY 1',
    );
    console.log(`\nhistory rows by params_source: ${sources.map((r) => `${r.params_source} ${r.n}`).join(', ')}`);
    console.log('http items / http plain (median of the per-run ratios), target within 10%:');
    for (const [name, r, up] of rows) console.log(`  ${name.padEnd(16)} ${r.toFixed(3)}  ${within(r, up)}`);
    direct.stop();
    await plain.close();
    await items.close();
  } finally {
    serve?.child.kill('SIGTERM');
    await db.close();
    await scratch.drop();
  }
}

describeProbe();
probe.start();
try {
  if (args.items) {
    await itemsBench();
  } else if (args.graph) {
    await graphBench();
  } else {
    await serverBench();
    if (!args['no-pglite']) await pgliteBench();
  }
} finally {
  probe.stop();
  if (probe.windows.length > 0) {
    const gaps = probe.windows.slice(1).map((w, i) => w.start - probe.windows[i].start);
    const ran = probe.windows.map((w) => w.ranMs);
    console.log(
      `kdamond: ${probe.windows.length} bursts, every ${median(gaps).toFixed(0)} ms (median), running ${median(ran).toFixed(1)} ms each (median), ${Math.max(...ran).toFixed(1)} ms at most`,
    );
  }
}
