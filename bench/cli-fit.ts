/**
 * bench/cli-fit: wall time and peak RSS of `bkt fit` at default options on every data set in ../shared/data/,
 * split into start-up (node and module loading, measured as wall minus the phases the command times itself),
 * parse (CSV read and parsed), group (rows grouped for the core), fit (EM on worker threads) and write.
 * Runs the built bin (npm run build first), each data set REPEATS times; prints the median run's figures, with
 * the process's CPU time (all threads): CPU well below wall * threads on a single-threaded phase means the
 * machine was busy with something else.
 * Run: npm run build && npx tsx bench/cli-fit.ts [repeats] [threads]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../dist/cli/main.js');
const PRELOAD = resolve(here, 'support/report-rss.mjs');
const DATA = resolve(here, '../../shared/data');
const REPEATS = Number(process.argv[2] ?? 3);
const THREADS = process.argv[3];

interface Run {
  wall: number;
  startup: number;
  parse: number;
  group: number;
  fit: number;
  write: number;
  rssMb: number;
  cpu: number;
  rows: number;
  concepts: number;
  logLik: number;
}

function runFit(file: string, out: string): Run {
  const args = ['--import', PRELOAD, BIN, 'fit', file, '-o', out, '--json'];
  if (THREADS) args.push('--threads', THREADS);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bkt fit ${file} failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout) as {
    seconds: { parse: number; group: number; fit: number; write: number };
    input: { rows: number; concepts: number };
    log_lik: number;
  };
  const rss = /BENCH_MAX_RSS_KB=(\d+)/.exec(r.stderr);
  const cpu = /BENCH_CPU_US=(\d+)/.exec(r.stderr);
  const { parse, group, fit, write } = s.seconds;
  return {
    wall,
    startup: wall - parse - group - fit - write,
    parse,
    group,
    fit,
    write,
    rssMb: rss ? Number(rss[1]) / 1024 : NaN,
    cpu: cpu ? Number(cpu[1]) / 1e6 : NaN,
    rows: s.input.rows,
    concepts: s.input.concepts,
    logLik: s.log_lik,
  };
}

const files = readdirSync(DATA).filter((f) => f.endsWith('.csv')).sort();
const tmp = mkdtempSync(join(tmpdir(), 'bkt-bench-'));
const f3 = (x: number) => x.toFixed(3);
console.log(`bkt fit, default options${THREADS ? `, ${THREADS} threads` : ''}; median of ${REPEATS} runs (by wall time)`);
console.log(['data set', 'rows', 'concepts', 'wall s', 'start-up s', 'parse s', 'group s', 'fit s', 'write s', 'CPU s', 'peak RSS MB', 'log-lik'].join(' | '));
try {
  for (const name of files) {
    const runs: Run[] = [];
    for (let k = 0; k < REPEATS; k++) runs.push(runFit(join(DATA, name), join(tmp, `${name}.json`)));
    runs.sort((a, b) => a.wall - b.wall);
    const m = runs[Math.floor(runs.length / 2)];
    console.log(
      [name, m.rows, m.concepts, f3(m.wall), f3(m.startup), f3(m.parse), f3(m.group), f3(m.fit), f3(m.write), f3(m.cpu), m.rssMb.toFixed(0), m.logLik.toFixed(2)].join(' | '),
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
