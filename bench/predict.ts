/**
 * bench/predict: `bkt predict` (built CLI, default parameters) on assist2015 (683,801 rows), ROUNDS runs; prints the
 * rows per second of the whole command and of its writing pass (the input streamed again with the predictions
 * appended, as `bkt predict --json` reports them), their medians, and the target of 1 M rows/s for the writing pass;
 * also the writing pass's rows per CPU second (write_cpu_seconds), which a busy machine does not slow down.
 * Also `-o -` into a pipe that this script drains (its writing rows/s from the text summary on stderr), and as a
 * baseline in the same run the same rows through `bkt predict --final-states`, which reads and traces alike and
 * writes one row per (student, concept) instead.
 *
 * Run: npm run bench:predict
 * Env: PREDICT_ROUNDS (default 5), PREDICT_DATA (data set name, default assist2015).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../dist/cli/main.js');
const ROUNDS = Number(process.env.PREDICT_ROUNDS ?? 5);
const NAME = process.env.PREDICT_DATA ?? 'assist2015';
const FILE = resolve(here, `../../shared/data/${NAME}.csv`);

interface Summary {
  seconds: number;
  rows_per_second: number;
  write_rows_per_second: number;
  write_cpu_seconds: number;
  rows_written: number;
}

function predict(out: string, extra: string[]): Summary {
  const r = spawnSync(process.execPath, [BIN, 'predict', FILE, '-o', out, '--json', ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bkt predict failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Summary;
}

/** `-o -` into a pipe read by this process; the rates come from the summary line on stderr. */
function predictToPipe(): { rows_per_second: number; write_rows_per_second: number; bytes: number } {
  const r = spawnSync(process.execPath, [BIN, 'predict', FILE, '-o', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bkt predict -o - failed: ${r.stderr}`);
  const m = /\(([\d,]+) rows\/s; writing ([\d,]+) rows\/s\)/.exec(r.stderr.toString());
  if (m === null) throw new Error(`no rates in: ${r.stderr}`);
  const n = (t: string) => Number(t.replaceAll(',', ''));
  return { rows_per_second: n(m[1]), write_rows_per_second: n(m[2]), bytes: r.stdout.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tmp = mkdtempSync(join(tmpdir(), 'bkt-predict-'));
try {
  const rows: Summary[] = [];
  const finals: Summary[] = [];
  const piped: ReturnType<typeof predictToPipe>[] = [];
  console.log(`bkt predict ${NAME}.csv, ${ROUNDS} rounds; Node ${process.version}`);
  console.log(['round', 'seconds', 'rows/s', 'writing rows/s', 'writing rows per CPU second', 'to a pipe: rows/s', 'writing rows/s', '--final-states seconds'].join(' | '));
  for (let k = 0; k < ROUNDS; k++) {
    const a = predict(join(tmp, 'p.csv'), []);
    const p = predictToPipe();
    const b = predict(join(tmp, 'f.csv'), ['--final-states']);
    rows.push(a);
    piped.push(p);
    finals.push(b);
    console.log([k + 1, a.seconds, a.rows_per_second, a.write_rows_per_second, Math.round(a.rows_written / a.write_cpu_seconds), p.rows_per_second, p.write_rows_per_second, b.seconds].join(' | '));
  }
  console.log(`output: ${piped[0].bytes} bytes`);
  console.log(`median to a pipe: ${median(piped.map((s) => s.rows_per_second))} rows/s; writing ${median(piped.map((s) => s.write_rows_per_second))} rows/s`);
  const w = median(rows.map((s) => s.write_rows_per_second));
  const perCpu = median(rows.map((s) => Math.round(s.rows_written / s.write_cpu_seconds)));
  console.log(`median writing rows per CPU second: ${perCpu} (the rate on a core of its own)`);
  console.log(`median: ${median(rows.map((s) => s.seconds))} s, ${median(rows.map((s) => s.rows_per_second))} rows/s; ` +
    `writing ${w} rows/s (target 1,000,000: ${w >= 1e6 ? 'met' : 'not met'}); ` +
    `--final-states ${median(finals.map((s) => s.seconds))} s, ratio ${(median(rows.map((s) => s.seconds)) / median(finals.map((s) => s.seconds))).toFixed(2)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
