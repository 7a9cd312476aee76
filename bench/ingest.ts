/**
 * bench/ingest: reading a response log into interned columns and grouping it for the core, per CSV reader
 * candidate, on assist2015 (11 MB) and assist2009 (5 MB) from ../shared/data, plain and gzip-compressed.
 *
 * Candidates, each streaming the file (no whole-file string) and interning ids into typed columns:
 * - bytes: the reader `bkt` uses (src/cli/read-log.ts over csv-records.ts): bytes straight into interned columns;
 * - papa: Papa Parse in chunk mode over the decoded text, the reader `bkt` used before;
 * - udsv: uDSV's incremental parser over the decoded text (it assumes every row has the header's field count,
 *   so a short row swallows the next line: kept for comparison only).
 * Each candidate runs ROUNDS times, interleaved; prints the median wall and CPU time of parse + group and MB/s of
 * the file's bytes (for .gz, of the uncompressed bytes). Target: assist2015 parsed and grouped in <= 0.12 s.
 *
 * Run: npm run bench:ingest
 * Env: INGEST_ROUNDS (default 7), INGEST_DATA (comma-separated data set names, default assist2015,assist2009).
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Papa from 'papaparse';
import { inferSchema, initParser } from 'udsv';
import { buildResponseData, type ResponseRows } from '../src/bkt/index.js';
import { GrowableArray } from '../src/bkt/growable.js';
import { DEFAULT_COLUMNS } from '../src/cli/csv-input.js';
import { readLogBytes } from '../src/cli/read-log.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(here, '../../shared/data');
const ROUNDS = Number(process.env.INGEST_ROUNDS ?? 7);
const SETS = (process.env.INGEST_DATA ?? 'assist2015,assist2009').split(',').map((s) => s.trim()).filter(Boolean);

/** String ids to indices, in order of first appearance, as the string-based readers need. */
class Interner {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();
  private last: string | null = null;
  private lastIndex = 0;
  get(id: string): number {
    if (id === this.last) return this.lastIndex;
    let k = this.index.get(id);
    if (k === undefined) {
      k = this.ids.length;
      this.index.set(id, k);
      this.ids.push(id);
    }
    this.last = id;
    this.lastIndex = k;
    return k;
  }
}

/** Collects rows of (student, concept, correct) strings into interned columns. */
function collector(hasHeader: boolean) {
  const students = new Interner();
  const concepts = new Interner();
  const student = new GrowableArray(new Uint32Array(1 << 16));
  const concept = new GrowableArray(new Uint32Array(1 << 16));
  const correct = new GrowableArray(new Uint8Array(1 << 16));
  let header = hasHeader;
  return {
    row(fields: readonly string[]) {
      if (header) {
        header = false;
        return;
      }
      if (fields.length === 1 && fields[0] === '') return;
      if (fields.length !== 3) throw new Error(`expected 3 fields, found ${fields.length}`);
      student.push(students.get(fields[0]));
      concept.push(concepts.get(fields[1]));
      correct.push(fields[2] === '1' ? 1 : 0);
    },
    done(): ResponseRows {
      return { studentIds: students.ids, conceptIds: concepts.ids, student: student.done(), concept: concept.done(), correct: correct.done() };
    },
  };
}

async function readPapa(file: string): Promise<ResponseRows> {
  const c = collector(true);
  const text = createReadStream(file);
  text.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    Papa.parse<string[]>(text as unknown as NodeJS.ReadableStream, {
      chunk(result) {
        for (const row of result.data) c.row(row);
      },
      complete: () => resolve(),
      error: (err: Error) => reject(err),
    });
  });
  return c.done();
}

async function readUdsv(file: string): Promise<ResponseRows> {
  const c = collector(false); // uDSV takes the header as its schema
  const text = createReadStream(file);
  text.setEncoding('utf8');
  let parser: ReturnType<typeof initParser> | null = null;
  for await (const chunk of text) {
    parser ??= initParser(inferSchema(chunk as string));
    parser.chunk<string[]>(chunk as string, parser.stringArrs, (row) => void c.row(row));
  }
  parser?.end();
  return c.done();
}

async function readBytes(file: string): Promise<ResponseRows> {
  return (await readLogBytes(file, DEFAULT_COLUMNS)).rows;
}

interface Figure {
  wall: number;
  cpu: number;
  rows: number;
}

async function timed(read: (file: string) => Promise<ResponseRows>, file: string): Promise<Figure> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await read(file);
  const { data } = buildResponseData(rows);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6, rows: data.responses.length };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const candidates: [string, (file: string) => Promise<ResponseRows>, boolean][] = [
  ['bytes', readBytes, true],
  ['papa', readPapa, false],
  ['udsv', readUdsv, false],
];

const tmp = mkdtempSync(join(tmpdir(), 'bkt-ingest-'));
try {
  console.log(`CSV ingest (parse + group), median of ${ROUNDS} interleaved rounds; Node ${process.version}`);
  console.log(['data set', 'reader', 'rows', 'wall s', 'CPU s', 'MB/s (wall)'].join(' | '));
  for (const name of SETS) {
    const file = join(DATA, `${name}.csv`);
    const gz = join(tmp, `${name}.csv.gz`);
    writeFileSync(gz, gzipSync(readFileSync(file)));
    const mb = statSync(file).size / 1e6;
    const runs: [string, string, (f: string) => Promise<ResponseRows>][] = candidates.map(([label, read]) => [label, file, read]);
    runs.push(['bytes (gzip)', gz, readBytes]);
    const figures = new Map<string, Figure[]>(runs.map(([label]) => [label, []]));
    for (let r = 0; r < ROUNDS + 1; r++) {
      for (const [label, f, read] of runs) {
        const fig = await timed(read, f);
        if (r > 0) figures.get(label)!.push(fig); // round 0 warms up each reader
      }
    }
    for (const [label, figs] of figures) {
      const wall = median(figs.map((x) => x.wall));
      console.log([`${name}.csv`, label, figs[0].rows, wall.toFixed(3), median(figs.map((x) => x.cpu)).toFixed(3), (mb / wall).toFixed(0)].join(' | '));
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
