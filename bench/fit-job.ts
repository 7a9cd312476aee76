/**
 * bench/fit-job: a fit job over the imported assist2009 in `bkt serve` (a child process on the PostgreSQL server),
 * against `bkt fit` on the same CSV with the same thread count; and update latency over HTTP (open loop, random
 * imported pairs, a fresh response_id each) while the service is idle and while a fit job runs.
 *
 *   npm run build && npx tsx bench/fit-job.ts [--data assist2009.csv] [--threads 1] [--rate 100] [--seconds 10] [--runs 3]
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAIN, startServe } from './support/serve.js';
import pg from 'pg';
import { Pool } from 'undici';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'assist2009.csv' },
    threads: { type: 'string', default: '1' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
  },
});
const DATA = resolve(import.meta.dirname, '../../shared/data', args.data!);
const THREADS = Number(args.threads);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const SERVER = process.env.BKT_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const withDb = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function bin(cmd: string[], env: Record<string, string> = {}): { stdout: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...cmd], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bkt ${cmd[0]} failed: ${r.stderr}`);
  return { stdout: r.stdout, seconds: (performance.now() - t0) / 1000 };
}



/** The running job's phase, as last polled (latencies are grouped by it). */
let phase = 'idle';

/** Open-loop updates at RATE per second until `until` resolves (or for SECONDS); latency from the scheduled start. */
async function updates(pool: Pool, pairs: [string, string][], until: Promise<unknown> | null, byPhase?: Map<string, number[]>): Promise<number[]> {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  let stop = false;
  void until?.then(() => (stop = true));
  const start = performance.now();
  let sent = 0;
  while (!stop && (until !== null || sent < RATE * SECONDS)) {
    const due = Math.floor(((performance.now() - start) / 1000) * RATE) + 1;
    for (; sent < due; sent++) {
      const scheduled = start + (sent / RATE) * 1000;
      const at = phase;
      const [student_id, concept_id] = pairs[Math.floor(Math.random() * pairs.length)];
      inFlight.push(
        pool
          .request({
            path: '/api/bkt/update',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ student_id, concept_id, correct: Math.random() < 0.6, response_id: randomUUID() }),
          })
          .then(async (r) => {
            await r.body.dump();
            if (r.statusCode !== 200) return;
            const ms = performance.now() - scheduled;
            latencies.push(ms);
            if (byPhase) {
              if (!byPhase.has(at)) byPhase.set(at, []);
              byPhase.get(at)!.push(ms);
            }
          }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  return latencies;
}

async function runJob(url: string): Promise<{ wall: number; results: { seconds: Record<string, number>; responses: number } }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/api/bkt/fit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  if (r.status !== 202) throw new Error(`POST /api/bkt/fit: ${r.status} ${await r.text()}`);
  const { job_id } = (await r.json()) as { job_id: string };
  for (;;) {
    const job = (await (await fetch(`${url}/api/bkt/fit/${job_id}`)).json()) as {
      status: string;
      error: string;
      results: never;
      progress: { phase: string };
    };
    phase = job.progress.phase;
    if (job.status === 'done') return { wall: (performance.now() - t0) / 1000, results: job.results };
    if (job.status !== 'running' && job.status !== 'queued') throw new Error(`fit job ${job.status}: ${job.error}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const name = `bkt_bench_fitjob_${randomBytes(4).toString('hex')}`;
await admin(`CREATE DATABASE ${name}`);
const url = withDb(SERVER, name);
const dir = mkdtempSync(join(tmpdir(), 'bkt-bench-fitjob-'));
let serve: { child: ChildProcess; url: string } | undefined;
try {
  bin(['import', DATA, '--json'], { DATABASE_URL: url, LOG_LEVEL: 'silent' });
  const cli = Array.from({ length: RUNS }, () => {
    const r = bin(['fit', DATA, '-o', join(dir, 'params.json'), '--threads', String(THREADS), '--json']);
    return { wall: r.seconds, fit: JSON.parse(r.stdout).seconds.fit as number };
  });

  serve = await startServe({ DATABASE_URL: url, BKT_FIT_THREADS: String(THREADS) });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const pairs = (await c.query<{ s: string; c: string }>('SELECT student_id AS s, concept_id AS c FROM public.student_mastery')).rows.map(
    (r): [string, string] => [r.s, r.c],
  );
  await c.end();
  const pool = new Pool(serve.url, { connections: 32 });

  type Job = Awaited<ReturnType<typeof runJob>>;
  const jobs: Job[] = [];
  for (let i = 0; i < RUNS; i++) jobs.push(await runJob(serve.url));
  const idle = await updates(pool, pairs, null);
  const during: number[] = [];
  const byPhase = new Map<string, number[]>();
  const loaded: Job[] = [];
  for (let i = 0; i < RUNS; i++) {
    const job = runJob(serve.url);
    during.push(...(await updates(pool, pairs, job, byPhase)));
    loaded.push(await job);
  }
  await pool.close();

  const s = (k: string) => median(jobs.map((j) => j.results.seconds[k])).toFixed(2);
  console.log(`${args.data}: ${jobs[0].results.responses.toLocaleString('en-US')} responses, ${THREADS} fit thread(s), median of ${RUNS}`);
  console.log('| run | wall s | read s | fit s | apply s |');
  console.log('|---|---|---|---|---|');
  console.log(`| \`bkt fit\` (CSV) | ${median(cli.map((x) => x.wall)).toFixed(2)} | | ${median(cli.map((x) => x.fit)).toFixed(2)} | |`);
  console.log(`| fit job, idle service | ${median(jobs.map((j) => j.wall)).toFixed(2)} | ${s('read')} | ${s('fit')} | ${s('apply')} |`);
  console.log(`| fit job, under ${RATE} updates/s | ${median(loaded.map((j) => j.wall)).toFixed(2)} | | | |`);
  console.log(`\nratio fit job / bkt fit (wall): ${(median(jobs.map((j) => j.wall)) / median(cli.map((x) => x.wall))).toFixed(2)}`);
  console.log(`\n| updates at ${RATE}/s over HTTP | n | p50 ms | p99 ms |`);
  console.log('|---|---|---|---|');
  console.log(`| idle | ${idle.length} | ${pct(idle, 0.5).toFixed(2)} | ${pct(idle, 0.99).toFixed(2)} |`);
  console.log(`| during fit jobs | ${during.length} | ${pct(during, 0.5).toFixed(2)} | ${pct(during, 0.99).toFixed(2)} |`);
  for (const [name, xs] of byPhase) {
    if (name === 'idle' || name === 'finished') continue;
    console.log(`| ... while ${name} | ${xs.length} | ${pct(xs, 0.5).toFixed(2)} | ${pct(xs, 0.99).toFixed(2)} |`);
  }
} finally {
  serve?.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
