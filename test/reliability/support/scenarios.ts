/**
 * The scenarios: each gets a fresh database on the suite's own PostgreSQL instance, drives a real `bkt serve` with a
 * seeded stream, then runs the checker and prints its figures. They return what they measured; the test files
 * decide what must hold (the full run and the fast CI part call the same functions with other sizes).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { importedId, MasteryService, ParametersCache } from '../../../src/service/index.js';
import { migrate } from '../../../src/store/migrate.js';
import { openPostgres } from '../../../src/store/postgres-driver.js';
import { SqlStore } from '../../../src/store/sql-store.js';
import { checkRecord, formatFigures, type CheckResult } from './checker.js';
import { findLeaks } from './leaks.js';
import { runExtensionChecks, type ExtensionContext, type ExtensionOutcome } from './extensions.js';
import { conceptId, loadClient, openLoop, quantile, seededRandom, studentId, updateStream, type Exchange, type LoadClient, type Op } from './load-client.js';
import { createDatabase, type PgInstance } from './pg-instance.js';
import { ADMIN_TOKEN, errorLines, runBkt, startServe, type ServeProcess } from './serve-process.js';

export const STUDENTS = 200;
export const CONCEPTS = 20;

/** Service settings of every scenario: short timeouts so that an outage answers fast. */
export const SERVE_ENV = {
  BKT_POOL_SIZE: '10',
  BKT_POOL_TIMEOUT_MS: '1000',
  BKT_STATEMENT_TIMEOUT_MS: '2000',
  BKT_LOCK_TIMEOUT_MS: '2000',
  BKT_PARAMS_REFRESH_MS: '100',
};
/** The longest an answer may take while the database is away: the pool wait plus a statement, plus slack. */
export const ANSWER_BOUND_MS = 1000 + 2000 + 1000;

export interface ScenarioResult extends CheckResult {
  readonly name: string;
  readonly extra: Record<string, number | string>;
  readonly extensions: ExtensionOutcome[];
  readonly exchanges: readonly Exchange[];
  /** Log lines of level error or worse from the service (a 500 logs one). */
  readonly errorLogs: string[];
}

/**
 * A fresh, migrated database with parameters for half of the concepts (the checker replays with them), so the
 * replay is checked against per-concept parameters and the defaults alike.
 */
export async function prepareDatabase(instance: PgInstance, label: string): Promise<string> {
  const url = await createDatabase(instance, `bkt_rel_${label}_${randomBytes(3).toString('hex')}`);
  const db = openPostgres({ connectionString: url, poolSize: 2, poolTimeoutMs: 5000, statementTimeoutMs: 30_000, lockTimeoutMs: 5000 });
  try {
    await migrate(db);
    const random = seededRandom(42);
    for (let c = 0; c < CONCEPTS; c += 2) {
      await db.query('INSERT INTO public.bkt_parameters (concept_id, p_l0, p_t, p_g, p_s, p_f) VALUES ($1, $2, $3, $4, $5, $6)', [
        conceptId(c),
        0.05 + random() * 0.5,
        0.05 + random() * 0.3,
        0.05 + random() * 0.25,
        0.05 + random() * 0.2,
        c % 4 === 0 ? random() * 0.05 : 0,
      ]);
    }
  } finally {
    await db.close();
  }
  return url;
}

interface FinishOptions {
  /** Concepts the scenario wrote outside the load (an imported log), left out of the record check. */
  readonly ignoreConcepts?: readonly string[];
  /** What the extension checks must find (a fit job left running by a killed process). */
  readonly context?: ExtensionContext;
  /** Problems the scenario found itself. */
  readonly problems?: readonly string[];
}

async function finish(
  name: string,
  url: string,
  client: LoadClient,
  serve: ServeProcess | undefined,
  extra: Record<string, number | string>,
  logs: string[],
  options: FinishOptions = {},
): Promise<ScenarioResult> {
  await client.close();
  if (serve) {
    // After the exit, which writes the log lines still buffered.
    await serve.stop();
    logs.push(serve.output());
  }
  const check = await checkRecord(url, client.exchanges, { ...(options.ignoreConcepts && { ignoreConcepts: options.ignoreConcepts }) });
  check.problems.push(...(options.problems ?? []));
  // No answer, not even a 503 during an outage, names a table, a column, a path or a stack frame.
  for (const e of client.exchanges) {
    if (e.status >= 400 && e.answer !== undefined) {
      const leaks = findLeaks(JSON.stringify(e.answer), '');
      if (leaks.length > 0) check.problems.push(`a ${e.status} answer leaks ${leaks.join(', ')}: ${JSON.stringify(e.answer)}`);
    }
  }
  console.log(formatFigures(name, check.figures, extra));
  console.log(`  answers: ${JSON.stringify(answerKinds(client.exchanges))}`);
  for (const p of check.problems) console.log(`  problem: ${p}`);
  const extensions = await runExtensionChecks(url, options.context);
  return { name, ...check, extra, extensions, exchanges: client.exchanges, errorLogs: logs.flatMap(errorLines) };
}

/** Counts of answers by status and error code (or the client's failure), e.g. {"200": 990, "503 unavailable": 10}. */
export function answerKinds(exchanges: readonly Exchange[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const e of exchanges) {
    const code = (e.answer as { error?: { code?: string } } | undefined)?.error?.code;
    const k = e.status === 0 ? `no answer (${e.failure})` : code ? `${e.status} ${code}` : String(e.status);
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}

const latency = (e: Exchange) => e.doneAt - e.scheduledAt;
const ms = (x: number) => Math.round(x * 100) / 100;

/** The direct-SQL maximum: the service's update in this process, closed loop, on a scratch database. */
export async function directMaximum(instance: PgInstance, seconds: number): Promise<number> {
  const url = await prepareDatabase(instance, 'direct');
  const db = openPostgres({ connectionString: url, poolSize: 10, poolTimeoutMs: 5000, statementTimeoutMs: 5000, lockTimeoutMs: 2000 });
  const store = new SqlStore(db);
  const parameters = new ParametersCache(store, 500);
  await parameters.start();
  const service = new MasteryService({ store, parameters, threshold: 0.95 });
  const random = seededRandom(7);
  const one = () =>
    service.recordResponse({
      studentId: studentId(Math.floor(random() * STUDENTS)),
      conceptId: conceptId(Math.floor(random() * CONCEPTS)),
      correct: random() < 0.7,
      responseId: randomUUID(),
    });
  try {
    const run = async (s: number) => {
      let n = 0;
      const end = performance.now() + s * 1000;
      await Promise.all(Array.from({ length: 20 }, async () => {
        while (performance.now() < end) {
          await one();
          n++;
        }
      }));
      return n / s;
    };
    await run(1); // warm-up
    return await run(seconds);
  } finally {
    parameters.stop();
    await db.close();
  }
}

/** Garbage collection and event loop figures of a running service, from its /metrics (prom-client defaults). */
async function gcFigures(url: string): Promise<{ majorCount: number; majorSeconds: number; minorSeconds: number; loopLagMaxSeconds: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
  return {
    majorCount: value(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\S+)$/m),
    majorSeconds: value(/^nodejs_gc_duration_seconds_sum\{kind="major"\} (\S+)$/m),
    minorSeconds: value(/^nodejs_gc_duration_seconds_sum\{kind="minor"\} (\S+)$/m),
    loopLagMaxSeconds: value(/^nodejs_eventloop_lag_max_seconds (\S+)$/m),
  };
}

/** Responses per operation of the stream the load scenario sends (5% batches of 1 to 10). */
export const LOAD_STREAM = { batchShare: 0.05, maxBatch: 10 };
export const LOAD_RESPONSES_PER_OP = 1 - LOAD_STREAM.batchShare + LOAD_STREAM.batchShare * ((1 + LOAD_STREAM.maxBatch) / 2);

/**
 * Load: open loop at `rate` operations per second for `seconds`, after `warmUp` seconds at that rate (connections,
 * JIT) that the thirds leave out; p99 and RSS of the first and last thirds.
 */
export async function loadScenario(instance: PgInstance, opts: { rate: number; seconds: number; warmUp: number; seed: number }): Promise<ScenarioResult> {
  const url = await prepareDatabase(instance, 'load');
  const serve = await startServe({ databaseUrl: url, env: SERVE_ENV });
  const client = loadClient({ url: serve.url });
  const rss: { t: number; bytes: number }[] = [];
  const stream = updateStream({ seed: opts.seed, students: STUDENTS, concepts: CONCEPTS, ...LOAD_STREAM });
  await openLoop(client, stream, opts.rate, opts.warmUp);
  const sampler = setInterval(() => rss.push({ t: client.now(), bytes: serve.rss() }), 250);
  const gcBefore = await gcFigures(serve.url);
  const start = client.now();
  await openLoop(client, stream, opts.rate, opts.seconds);
  clearInterval(sampler);
  const gcAfter = await gcFigures(serve.url);
  const third = (opts.seconds * 1000) / 3;
  const inThird = <T extends { t: number }>(xs: T[], k: number) => xs.filter((x) => x.t - start >= k * third && x.t - start < (k + 1) * third);
  const lat = client.exchanges.filter((e) => e.scheduledAt >= start).map((e) => ({ t: e.scheduledAt, v: latency(e) }));
  const p99 = (k: number) => quantile(inThird(lat, k).map((x) => x.v), 0.99);
  const meanRss = (k: number) => {
    const xs = inThird(rss, k).map((x) => x.bytes);
    return xs.reduce((a, b) => a + b, 0) / xs.length / 2 ** 20;
  };
  // p99 by 5 s window: a trend (a leak, a query that grows with the tables) climbs; a shared machine's stalls scatter.
  const windows = Array.from({ length: Math.floor(opts.seconds / 5) }, (_, w) =>
    ms(quantile(lat.filter((x) => x.t - start >= w * 5000 && x.t - start < (w + 1) * 5000).map((x) => x.v), 0.99)),
  );
  const extra = {
    rate: opts.rate,
    'responses/s': ms(opts.rate * LOAD_RESPONSES_PER_OP),
    seconds: opts.seconds,
    'p50 ms': ms(quantile(lat.map((x) => x.v), 0.5)),
    'p99 ms': ms(quantile(lat.map((x) => x.v), 0.99)),
    'p99 first third ms': ms(p99(0)),
    'p99 last third ms': ms(p99(2)),
    'p99 by 5 s window ms': windows.join(' '),
    'RSS first third MiB': ms(meanRss(0)),
    'RSS last third MiB': ms(meanRss(2)),
    'RSS max MiB': ms(Math.max(...rss.map((x) => x.bytes)) / 2 ** 20),
    // The service's own garbage collection during the measured load (prom-client's figures on /metrics).
    'major GCs': gcAfter.majorCount - gcBefore.majorCount,
    'major GC ms': ms((gcAfter.majorSeconds - gcBefore.majorSeconds) * 1000),
    'minor GC ms': ms((gcAfter.minorSeconds - gcBefore.minorSeconds) * 1000),
    'event loop lag max ms': ms(gcAfter.loopLagMaxSeconds * 1000),
  };
  return finish('load', url, client, serve, extra, []);
}

/**
 * Database restart: PostgreSQL is stopped (fast shutdown: sessions are cut) at `stopAt` s and started again
 * `downFor` s later, while the load goes on. The service is never restarted.
 */
export async function databaseRestartScenario(
  instance: PgInstance,
  opts: { rate: number; seconds: number; stopAt: number; downFor: number; seed: number },
): Promise<ScenarioResult & { outage: { from: number; to: number; startIssued: number } }> {
  const url = await prepareDatabase(instance, 'restart');
  const serve = await startServe({ databaseUrl: url, env: SERVE_ENV });
  const client = loadClient({ url: serve.url, timeoutMs: 15_000 });
  // from: the server is down (pg_ctl stop returned); startIssued: pg_ctl start began (nothing can answer before);
  // to: pg_ctl start returned (the server is surely back).
  const outage = { from: NaN, to: NaN, startIssued: NaN };
  let phase: 'before' | 'down' | 'after' = 'before';
  let pending: Promise<void> | undefined;
  await openLoop(client, updateStream({ seed: opts.seed, students: STUDENTS, concepts: CONCEPTS }), opts.rate, opts.seconds, (elapsed) => {
    if (phase === 'before' && elapsed >= opts.stopAt * 1000) {
      phase = 'down';
      // The outage counts from when the server is down (pg_ctl -w returns), until it accepts connections again.
      pending = instance.stop('fast').then(() => {
        outage.from = client.now();
      });
    } else if (phase === 'down' && elapsed >= (opts.stopAt + opts.downFor) * 1000) {
      phase = 'after';
      pending = pending!.then(async () => {
        outage.startIssued = client.now();
        await instance.start();
        outage.to = client.now();
      });
    }
  });
  await pending;
  if (!instance.isRunning()) await instance.start();
  const during = client.exchanges.filter((e) => e.sentAt >= outage.from && e.sentAt < outage.to);
  const extra = {
    rate: opts.rate,
    seconds: opts.seconds,
    'outage s': ms((outage.to - outage.from) / 1000),
    'sent during outage': during.length,
    '503 during outage': during.filter((e) => e.status === 503).length,
    'max answer ms during outage': ms(Math.max(0, ...during.map((e) => e.doneAt - e.sentAt))),
    'first 2xx after restart ms': ms(
      Math.min(...client.exchanges.filter((e) => e.sentAt >= outage.to && e.status === 200).map((e) => e.doneAt)) - outage.to,
    ),
  };
  const result = await finish('database restart', url, client, serve, extra, []);
  return { ...result, outage };
}

/**
 * The crash scenario's fit job: a concept the load never uses, imported (the real `bkt import`) from a synthetic log
 * before the service starts. The answers carry no learning, and with forget fitted and tol 0 every EM restart runs all
 * its iterations: 100 students x 100 answers x 100 restarts x 1,000 iterations is about 10 s on the one fit thread
 * here (`bkt fit --fit-forget --tol 0 --max-iterations 1000 --restarts 100 --threads 1` on the same file), while the
 * kill comes about 1 s after the job starts. The import takes about 0.5 s.
 */
export const SEED_FIT = {
  concept: 'reliability-seed-concept',
  students: 100,
  answers: 100,
  request: { restarts: 100, forget: true, tol: 0, max_iterations: 1000 },
} as const;

/** Writes the seed log into a temporary directory and imports it; returns the concept's UUID and the rows imported. */
async function importSeedConcept(url: string, seed: number): Promise<{ conceptId: string; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bkt-reliability-seed-'));
  try {
    const random = seededRandom(seed);
    const lines = ['student_id,concept_id,correct'];
    for (let s = 0; s < SEED_FIT.students; s++) {
      for (let a = 0; a < SEED_FIT.answers; a++) lines.push(`seed-student-${s},${SEED_FIT.concept},${random() < 0.6 ? 1 : 0}`);
    }
    const file = join(dir, 'seed.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const summary = JSON.parse(await runBkt(['import', file, '--json'], url)) as { rows_imported: number };
    return { conceptId: importedId('concept', SEED_FIT.concept), rows: summary.rows_imported };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** POSTs the seed concept's fit job and polls it (before the kill) until it runs; returns its id. */
async function startSeedFit(serveUrl: string, conceptId: string): Promise<string> {
  const r = await fetch(`${serveUrl}/api/bkt/fit`, {
    method: 'POST',
    headers: adminHeaders,
    body: JSON.stringify({ concept_ids: [conceptId], ...SEED_FIT.request }),
  });
  const body = (await r.json()) as { job_id?: string };
  if (r.status !== 202 || body.job_id === undefined) throw new Error(`POST /api/bkt/fit answered ${r.status}: ${JSON.stringify(body)}`);
  // A deadline that marks failure only: a loaded machine may take a while to start the job.
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const job = (await (await fetch(`${serveUrl}/api/bkt/fit/${body.job_id}`, { headers: adminHeaders })).json()) as { status: string };
    if (job.status === 'running') return body.job_id;
    if (job.status !== 'queued') throw new Error(`the fit job ended before the kill: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the fit job did not start running within 120 s');
}

/** A fit job's status read from the database (never through the service: a GET would mark a stale job itself). */
async function fitJobStatus(url: string, id: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ status: string }>('SELECT status FROM bkt_internal.fit_jobs WHERE id = $1', [id])).rows[0]?.status ?? 'missing';
  } finally {
    await client.end();
  }
}

/** Polls the database until the job is no longer queued or running, or `timeoutMs` passed; returns its status. */
async function waitUntilEnded(url: string, id: string, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await fitJobStatus(url, id);
    if ((status !== 'running' && status !== 'queued') || performance.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Which part of the service marked the job interrupted, from its warn lines: its start, or the periodic sweep. */
/**
 * interruptedBy() on the service's output once the line is there: log lines reach stdout up to a second after they
 * are written (BKT_LOG_BUFFER_BYTES). The deadline only marks failure.
 */
async function loggedInterruption(serve: ServeProcess, id: string): Promise<string> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const by = interruptedBy(serve.output(), id);
    if (by !== 'not logged' || performance.now() > deadline) return by;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function interruptedBy(output: string, id: string): string {
  for (const line of output.split('\n')) {
    try {
      const entry = JSON.parse(line) as { msg?: string; jobs?: string[] };
      if (!entry.jobs?.includes(id)) continue;
      if (entry.msg?.includes('(sweep)')) return 'sweep';
      if (entry.msg?.includes('left running by a stopped process')) return 'start';
    } catch {
      // not a log line
    }
  }
  return 'not logged';
}

/**
 * Crash: the graph projection is turned on (the real `bkt graph enable`) and a concept the load never uses is
 * imported, then the service starts. About 1 s before `killAt` s a fit job starts on that concept; once it runs, the
 * service is SIGKILLed, and started again (same port) `downFor` s later while the load goes on. Then the job must be
 * marked `interrupted` by the restarted service's sweep: its BKT_FIT_STALE_MS is longer than the restart takes, so
 * the restart's own recovery finds the heartbeat still fresh, and nothing reads the job through the service after
 * the kill. No relay runs (no NEO4J_URI): every answered pair must have its pending outbox row at its state.
 */
export async function crashScenario(
  instance: PgInstance,
  opts: { rate: number; seconds: number; killAt: number; downFor: number; seed: number },
): Promise<ScenarioResult> {
  const url = await prepareDatabase(instance, 'crash');
  const setupStart = performance.now();
  await runBkt(['graph', 'enable', '--json'], url);
  const seed = await importSeedConcept(url, opts.seed);
  const setupSeconds = (performance.now() - setupStart) / 1000;
  // Stale only well after the restart: the restart's recovery must find the job alive, so that the sweep marks it.
  const staleMs = Math.round((opts.downFor + 2.5) * 1000);
  // Generous waits (failure bounds): a loaded machine queues the open loop's answers rather than answering 503, and
  // the fit job's read of the seed rows is not cut by a statement timeout. No assertion here is about answer times.
  const env = {
    ...SERVE_ENV,
    BKT_POOL_TIMEOUT_MS: '30000',
    BKT_STATEMENT_TIMEOUT_MS: '60000',
    BKT_LOCK_TIMEOUT_MS: '30000',
    BKT_FIT_THREADS: '1',
    BKT_FIT_HEARTBEAT_MS: '200',
    BKT_FIT_STALE_MS: String(staleMs),
  };
  let serve = await startServe({ databaseUrl: url, env });
  const client = loadClient({ url: serve.url, timeoutMs: 120_000 });
  const logs: string[] = [];
  const problems: string[] = [];
  let phase: 'before' | 'fit' | 'down' | 'after' = 'before';
  let pending: Promise<void> | undefined;
  const fit: { id?: string; settled: boolean; atKill?: string } = { settled: false };
  let killedAt = NaN;
  let killElapsed = NaN;
  let inFlightAtKill = 0;
  let restartedAt = NaN;
  const stream = updateStream({ seed: opts.seed, students: STUDENTS, concepts: CONCEPTS });
  await openLoop(client, stream, opts.rate, opts.seconds, (elapsed) => {
    if (phase === 'before' && elapsed >= Math.max(0, opts.killAt - 1) * 1000) {
      phase = 'fit';
      startSeedFit(serve.url, seed.conceptId)
        .then(
          (id) => {
            fit.id = id;
          },
          (e: Error) => {
            problems.push(`the fit job did not run before the kill: ${e.message}`);
          },
        )
        .finally(() => {
          fit.settled = true;
        });
    } else if (phase === 'fit' && elapsed >= opts.killAt * 1000 && fit.settled) {
      phase = 'down';
      inFlightAtKill = client.exchanges.filter((e) => Number.isNaN(e.doneAt)).length;
      killedAt = client.now();
      killElapsed = elapsed;
      const old = serve;
      pending = old.kill().then(async () => {
        logs.push(old.output());
        if (fit.id !== undefined) fit.atKill = await fitJobStatus(url, fit.id);
      });
    } else if (phase === 'down' && elapsed >= killElapsed + opts.downFor * 1000) {
      phase = 'after';
      pending = pending!.then(async () => {
        serve = await startServe({ databaseUrl: url, env, port: serve.port });
        restartedAt = client.now();
      });
    }
  });
  await pending;
  // On a slow machine the restart can outlast the load: restart now if the loop ended while the service was down,
  // then keep sending until enough answers after the restart succeed (a deadline marks failure, not the schedule).
  // (phase is set in the loop's callback, which the compiler does not follow.)
  if ((phase as string) === 'fit') {
    // The fit job took longer to start than the load lasted: wait for it, then kill as the loop would have.
    const deadline = performance.now() + 120_000;
    while (!fit.settled && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    inFlightAtKill = client.exchanges.filter((e) => Number.isNaN(e.doneAt)).length;
    killedAt = client.now();
    await serve.kill();
    logs.push(serve.output());
    if (fit.id !== undefined) fit.atKill = await fitJobStatus(url, fit.id);
    phase = 'down';
  }
  if ((phase as string) === 'down') {
    serve = await startServe({ databaseUrl: url, env, port: serve.port });
    restartedAt = client.now();
    phase = 'after';
  }
  if (Number.isNaN(restartedAt)) problems.push('the load ended before the service was killed and started again');
  else if (!(await successesAfter(client, stream, restartedAt, AFTER_RESTART_SUCCESSES, 120_000))) {
    problems.push(`fewer than ${AFTER_RESTART_SUCCESSES} answers succeeded within 120 s of the restart`);
  }
  // The sweep runs every staleMs / 2: the job is marked within 1.5 x staleMs of its last heartbeat.
  const status = fit.id === undefined ? 'none' : await waitUntilEnded(url, fit.id, 2 * staleMs + 10_000);
  const extra = {
    rate: opts.rate,
    seconds: opts.seconds,
    'setup s': ms(setupSeconds),
    'seed rows': seed.rows,
    'in flight at kill': inFlightAtKill,
    'down s': ms((restartedAt - killedAt) / 1000),
    '2xx after restart': client.exchanges.filter((e) => e.sentAt >= restartedAt && e.status === 200).length,
    'fit job at kill': fit.atKill ?? 'none',
    'fit job': status,
    'fit job interrupted by': fit.id === undefined ? 'none' : await loggedInterruption(serve, fit.id),
    'fit stale ms': staleMs,
  };
  return finish('crash', url, client, serve, extra, logs, {
    ignoreConcepts: [seed.conceptId],
    problems,
    ...(fit.id !== undefined && { context: { interruptedFitJob: fit.id } }),
  });
}

/** Answers that must succeed after a restart before a scenario's checks run. */
const AFTER_RESTART_SUCCESSES = 20;

/** Sends from `stream`, a few at a time, until `n` answers sent after `since` got a 200; false at the deadline. */
async function successesAfter(client: LoadClient, stream: { next(): Op }, since: number, n: number, deadlineMs: number): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  const count = () => client.exchanges.filter((e) => e.sentAt >= since && e.status === 200).length;
  while (count() < n) {
    if (performance.now() > deadline) return false;
    await Promise.all(Array.from({ length: 4 }, () => client.send(stream.next())));
  }
  return true;
}

/**
 * Hot pair: background load on random pairs; after `burstAt` s, `burst` concurrent single updates on one pair.
 * Compares the other pairs' latency while the burst runs with their latency before it.
 */
export async function hotPairScenario(
  instance: PgInstance,
  opts: { rate: number; seconds: number; burstAt: number; burst: number; seed: number },
): Promise<ScenarioResult> {
  const url = await prepareDatabase(instance, 'hot');
  const serve = await startServe({ databaseUrl: url, env: SERVE_ENV });
  const client = loadClient({ url: serve.url });
  const hot = updateStream({ seed: opts.seed + 1, students: 1, concepts: 1, batchShare: 0, hotPair: [studentId(STUDENTS + 1), conceptId(0)] });
  let burst: Promise<Exchange[]> | undefined;
  let burstFrom = NaN;
  await openLoop(client, updateStream({ seed: opts.seed, students: STUDENTS, concepts: CONCEPTS, batchShare: 0 }), opts.rate, opts.seconds, (elapsed) => {
    if (!burst && elapsed >= opts.burstAt * 1000) {
      burstFrom = client.now();
      burst = Promise.all(Array.from({ length: opts.burst }, () => client.send(hot.next())));
    }
  });
  const hotExchanges = await burst!;
  const burstTo = Math.max(...hotExchanges.map((e) => e.doneAt));
  const hotSet = new Set(hotExchanges);
  const others = client.exchanges.filter((e) => !hotSet.has(e));
  // Before: from 1 s after the start (connections opened, code warm) to the burst.
  const before = others.filter((e) => e.scheduledAt >= 1000 && e.scheduledAt < burstFrom).map(latency);
  const during = others.filter((e) => e.scheduledAt >= burstFrom && e.scheduledAt <= burstTo).map(latency);
  const extra = {
    burst: opts.burst,
    'burst ms': ms(burstTo - burstFrom),
    'hot 2xx': hotExchanges.filter((e) => e.status === 200).length,
    'hot p50 ms': ms(quantile(hotExchanges.map((e) => e.doneAt - e.sentAt), 0.5)),
    'hot max ms': ms(Math.max(...hotExchanges.map((e) => e.doneAt - e.sentAt))),
    'others before: n': before.length,
    'others before p50 ms': ms(quantile(before, 0.5)),
    'others before p90 ms': ms(quantile(before, 0.9)),
    'others before p99 ms': ms(quantile(before, 0.99)),
    'others during: n': during.length,
    'others during p50 ms': ms(quantile(during, 0.5)),
    'others during p90 ms': ms(quantile(during, 0.9)),
    'others during p99 ms': ms(quantile(during, 0.99)),
  };
  return finish('hot pair', url, client, serve, extra, []);
}

/** Retry storm: every operation sent twice at once with the same response ids. */
export async function retryStormScenario(instance: PgInstance, opts: { rate: number; seconds: number; seed: number }): Promise<ScenarioResult & { twins: [Exchange, Exchange][] }> {
  const url = await prepareDatabase(instance, 'storm');
  const serve = await startServe({ databaseUrl: url, env: SERVE_ENV });
  const client = loadClient({ url: serve.url });
  const stream = updateStream({ seed: opts.seed, students: STUDENTS, concepts: CONCEPTS });
  const doubled = { next: (): Op => stream.next() };
  const twins: [Exchange, Exchange][] = [];
  // Each scheduled operation becomes two requests sent in the same tick.
  const sendTwice = client.send.bind(client);
  const storm: LoadClient = {
    ...client,
    exchanges: client.exchanges,
    async send(op, at) {
      const pair = await Promise.all([sendTwice(op, at), sendTwice(op, at)]);
      twins.push(pair);
      return pair[0];
    },
  };
  await openLoop(storm, doubled, opts.rate, opts.seconds);
  const both2xx = twins.filter(([a, b]) => a.status === 200 && b.status === 200);
  const extra = {
    rate: opts.rate,
    seconds: opts.seconds,
    twins: twins.length,
    'twins both 2xx': both2xx.length,
  };
  const result = await finish('retry storm', url, client, serve, extra, []);
  return { ...result, twins };
}
