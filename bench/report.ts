/**
 * bench/report: `bkt report` on assist2015 (684k rows, 100 concepts), against `bkt evaluate` on the same file and
 * params as the baseline (both read the CSV and trace every row; the report also counts curves and draws the page).
 * Fits the params once, then runs each command REPEATS times through the built bin and prints the median run's wall
 * time, the report's phases and page size, the ratio to the baseline, and the targets (< 3 s, < 5 MB).
 * Run: npm run bench:report [-- repeats]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../dist/cli/main.js');
const DATA = resolve(here, '../../shared/data/assist2015.csv');
// Prints the process's CPU time (all threads) on exit: unlike wall time, it hardly grows when other work shares the cores.
const PRELOAD = resolve(here, 'support/report-rss.mjs');
const REPEATS = Number(process.argv[2] ?? 3);
const TARGET_SECONDS = 3;
const TARGET_BYTES = 5e6;

function run(args: string[]): { wall: number; cpu: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', PRELOAD, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bkt ${args.join(' ')} failed: ${r.stderr}`);
  const cpu = /BENCH_CPU_US=(\d+)/.exec(r.stderr);
  return { wall, cpu: cpu ? Number(cpu[1]) / 1e6 : NaN, stdout: r.stdout };
}

function median<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
try {
  const params = join(dir, 'params.json');
  const page = join(dir, 'report.html');
  run(['fit', DATA, '-o', params]);
  const reports: { wall: number; cpu: number; s: { bytes: number; concepts: number; seconds: number; phases: Record<string, number> } }[] = [];
  const evaluates: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < REPEATS; i++) {
    evaluates.push(run(['evaluate', DATA, '--params', params, '--json']));
    const r = run(['report', DATA, '--params', params, '-o', page, '--json']);
    reports.push({ wall: r.wall, cpu: r.cpu, s: JSON.parse(r.stdout) });
  }
  const m = median(reports, (r) => r.wall);
  const base = median(evaluates, (x) => x.wall);
  const bytes = statSync(page).size;
  const p = m.s.phases;
  console.log(`bkt report on assist2015.csv: ${m.s.concepts} concepts, median of ${REPEATS} runs; load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`);
  console.log(`  wall ${m.wall.toFixed(2)} s (process start included), CPU ${m.cpu.toFixed(2)} s (all threads); inside the command ${m.s.seconds.toFixed(2)} s:`);
  console.log(`    parse ${p.parse.toFixed(2)} s, group ${p.group.toFixed(2)} s, trace and curves ${p.trace.toFixed(2)} s, render ${p.render.toFixed(2)} s, write ${p.write.toFixed(2)} s`);
  console.log(`  page ${(bytes / 1e6).toFixed(2)} MB`);
  console.log(`  baseline bkt evaluate (same file and params): wall ${base.wall.toFixed(2)} s, CPU ${base.cpu.toFixed(2)} s; report / evaluate: wall ${(m.wall / base.wall).toFixed(2)}, CPU ${(m.cpu / base.cpu).toFixed(2)}`);
  console.log(`  targets: time < ${TARGET_SECONDS} s: ${m.wall < TARGET_SECONDS ? 'met' : 'NOT met'}; page < ${TARGET_BYTES / 1e6} MB: ${bytes < TARGET_BYTES ? 'met' : 'NOT met'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
