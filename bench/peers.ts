/**
 * bench/peers: `bkt fit` (built CLI, default options) side by side with hmm-scalable's `trainhmm -s 1.1` (the C++
 * Baum-Welch fitter in ../shared/peers, with its defaults), on the same responses, interleaved A B A B.
 *
 * Builds trainhmm from a copy of ../shared/peers/hmm-scalable in a temporary folder (never in the repo), converts
 * each data set to its tab-separated input, then runs PEERS_PAIRS pairs (bkt first, then trainhmm) per data set.
 * Both run under the same small wait4 wrapper (support/measure.c), which reports each process's wall time, CPU
 * time (all threads) and peak RSS. Prints each pair, the per-pair ratio bkt / trainhmm, the medians, and both
 * log-likelihoods (bkt's from its --json summary; trainhmm's as the sum over skills of the final value it prints).
 * Skips, saying so, where no C and C++ compiler is found.
 *
 * Run: npm run bench:peers
 * Env: PEERS_PAIRS (default 5), PEERS_DATA (comma-separated data set names, default assist2009,assist2015),
 *      BKT_FIT_ARGS (extra arguments for bkt fit, space-separated; default none).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../dist/cli/main.js');
const DATA = resolve(here, '../../shared/data');
const PEER = resolve(here, '../../shared/peers/hmm-scalable');
const PAIRS = Number(process.env.PEERS_PAIRS ?? 5);
const SETS = (process.env.PEERS_DATA ?? 'assist2009,assist2015').split(',').map((s) => s.trim()).filter(Boolean);
const EXTRA = (process.env.BKT_FIT_ARGS ?? '').split(/\s+/).filter(Boolean);

interface Measured {
  wall: number;
  cpu: number;
  rssMb: number;
  logLik: number;
}

function hasCommand(cmd: string): boolean {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function run(cmd: string, args: string[], cwd?: string): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command under the wait4 wrapper; returns its figures and output. */
function measured(measure: string, args: string[]): { wall: number; cpu: number; rssMb: number; stdout: string } {
  const { stdout, stderr } = run(measure, args);
  const m = /MEASURE wall_s=([\d.]+) cpu_s=([\d.]+) max_rss_kb=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no figures from the wrapper: ${stderr.slice(-500)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]), rssMb: Number(m[3]) / 1024, stdout };
}

/** student_id,concept_id,correct -> observation (1 correct, 2 wrong), student, step, skill; tab-separated. */
async function convert(csv: string, tsv: string): Promise<void> {
  const out = createWriteStream(tsv);
  const lines = createInterface({ input: createReadStream(csv), crlfDelay: Infinity });
  let header = true;
  let text = '';
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    if (line === '') continue;
    const [student, concept, correct] = line.split(',');
    text += `${correct === '1' ? 1 : 2}\t${student}\tstep\t${concept}\n`;
    if (text.length > 1 << 16) {
      if (!out.write(text)) await once(out, 'drain');
      text = '';
    }
  }
  out.end(text);
  await once(out, 'finish');
}

function runBkt(measure: string, csv: string, out: string): Measured {
  const m = measured(measure, [process.execPath, BIN, 'fit', csv, '-o', out, '--json', ...EXTRA]);
  const summary = JSON.parse(m.stdout) as { log_lik: number };
  return { wall: m.wall, cpu: m.cpu, rssMb: m.rssMb, logLik: summary.log_lik };
}

function runPeer(measure: string, trainhmm: string, tsv: string, model: string): Measured {
  const m = measured(measure, [trainhmm, '-s', '1.1', tsv, model]);
  // Each skill's line ends "p(O|param)= <-LL before> >> <-LL after>, conv=..."; the fit's LL is minus their sum.
  let negLogLik = 0;
  for (const x of m.stdout.matchAll(/>>\s*([\d.eE+-]+)/g)) negLogLik += Number(x[1]);
  return { wall: m.wall, cpu: m.cpu, rssMb: m.rssMb, logLik: -negLogLik };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[k] : (s[k - 1] + s[k]) / 2;
}

async function main(): Promise<void> {
  const cxx = process.env.CXX ?? 'g++';
  const cc = process.env.CC ?? 'cc';
  if (!hasCommand(cxx) || !hasCommand(cc) || !hasCommand('make')) {
    console.log(`bench:peers skipped: needs a C++ compiler (${cxx}), a C compiler (${cc}) and make to build hmm-scalable`);
    return;
  }
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  if (!existsSync(PEER)) {
    console.log(`bench:peers skipped: ${PEER} is missing`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'bkt-peers-'));
  try {
    const src = join(tmp, 'hmm-scalable');
    cpSync(PEER, src, { recursive: true });
    console.log('building hmm-scalable trainhmm (make train) ...');
    run('make', ['-C', src, '-j2', 'train', `CXX=${cxx}`, `CC=${cxx}`]);
    const measure = join(tmp, 'measure');
    run(cc, ['-O2', '-o', measure, resolve(here, 'support/measure.c')]);
    const trainhmm = join(src, 'trainhmm');
    const f3 = (x: number) => x.toFixed(3);
    console.log(`bkt fit (default options${EXTRA.length ? `, ${EXTRA.join(' ')}` : ''}) vs hmm-scalable trainhmm -s 1.1; ` +
      `${PAIRS} pairs per data set, bkt first in each pair; Node ${process.version}`);
    for (const name of SETS) {
      const csv = join(DATA, `${name}.csv`);
      const tsv = join(tmp, `${name}.txt`);
      await convert(csv, tsv);
      const bkt: Measured[] = [];
      const peer: Measured[] = [];
      console.log(`\n${name}`);
      console.log(['pair', 'bkt wall s', 'bkt CPU s', 'bkt RSS MB', 'hmm wall s', 'hmm CPU s', 'hmm RSS MB', 'wall ratio', 'RSS ratio'].join(' | '));
      for (let k = 0; k < PAIRS; k++) {
        const a = runBkt(measure, csv, join(tmp, `${name}.params.json`));
        const b = runPeer(measure, trainhmm, tsv, join(tmp, `${name}.model.txt`));
        bkt.push(a);
        peer.push(b);
        console.log([k + 1, f3(a.wall), f3(a.cpu), a.rssMb.toFixed(1), f3(b.wall), f3(b.cpu), b.rssMb.toFixed(1),
          f3(a.wall / b.wall), f3(a.rssMb / b.rssMb)].join(' | '));
      }
      const med = (xs: Measured[], f: (m: Measured) => number) => median(xs.map(f));
      const ratios = bkt.map((a, k) => a.wall / peer[k].wall);
      console.log(['median', f3(med(bkt, (m) => m.wall)), f3(med(bkt, (m) => m.cpu)), med(bkt, (m) => m.rssMb).toFixed(1),
        f3(med(peer, (m) => m.wall)), f3(med(peer, (m) => m.cpu)), med(peer, (m) => m.rssMb).toFixed(1),
        f3(median(ratios)), f3(median(bkt.map((a, k) => a.rssMb / peer[k].rssMb)))].join(' | '));
      console.log(`${name}: median wall ratio bkt/trainhmm ${f3(median(ratios))} ` +
        `(min ${f3(Math.min(...ratios))}, max ${f3(Math.max(...ratios))}); ` +
        `log-likelihood bkt ${bkt[0].logLik.toFixed(2)}, trainhmm ${peer[0].logLik.toFixed(2)}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
