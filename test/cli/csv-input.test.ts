/**
 * The CSV reader of response logs: every line ending, quoting, a byte order mark, blank lines and gzip give the same
 * columns; each kind of bad row is reported as `file:line: problem` with the right line; and the byte tokenizer
 * gives the same records however the input is cut into chunks (random cuts, seed printed).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_OBSERVATION } from '../../src/bkt/index.js';
import { DEFAULT_COLUMNS, readResponseLog, streamCsv } from '../../src/cli/csv-input.js';
import { CsvTokenizer, recordFields } from '../../src/cli/csv-records.js';
import { LogReader, readLogBytes } from '../../src/cli/read-log.js';
import { tempDir } from '../support/bin.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
let counter = 0;
/** fast-check prints the seed of a failing run; rerun it with FC_SEED=<seed>. */
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

function file(content: string | Buffer, ext = '.csv'): string {
  const path = join(tmp.dir, `f${counter++}${ext}`);
  writeFileSync(path, content);
  return path;
}

const ROWS = ['s1,a,1', 's1,a,0', 's1,b,true', 's2,a,false', 's2,"b",1'];
const EXPECTED = {
  studentIds: ['s1', 's2'],
  conceptIds: ['a', 'b'],
  student: [0, 0, 0, 1, 1],
  concept: [0, 0, 1, 0, 1],
  correct: [1, 0, 1, 0, 1],
};

async function columns(path: string) {
  const log = await readResponseLog(path, DEFAULT_COLUMNS);
  return {
    log,
    cols: {
      studentIds: log.rows.studentIds,
      conceptIds: log.rows.conceptIds,
      student: [...log.rows.student],
      concept: [...log.rows.concept],
      correct: [...log.rows.correct],
    },
  };
}

describe('readResponseLog', () => {
  const header = 'student_id,concept_id,correct';
  it.each([
    ['LF', `${header}\n${ROWS.join('\n')}\n`],
    ['CRLF', `${header}\r\n${ROWS.join('\r\n')}\r\n`],
    ['CR', `${header}\r${ROWS.join('\r')}\r`],
    ['no final line end', `${header}\n${ROWS.join('\n')}`],
    ['a byte order mark', `\ufeff${header}\n${ROWS.join('\n')}\n`],
  ])('reads the same columns with %s', async (_, text) => {
    const { cols, log } = await columns(file(text));
    expect(cols).toEqual(EXPECTED);
    expect(log.header).toEqual(['student_id', 'concept_id', 'correct']);
    expect([...log.lineOf]).toEqual([2, 3, 4, 5, 6]);
  });

  it('skips blank lines but counts them in line numbers', async () => {
    const { cols, log } = await columns(file(`${header}\n\n${ROWS.slice(0, 2).join('\n')}\n\r\n${ROWS.slice(2).join('\n')}\n\n`));
    expect(cols).toEqual(EXPECTED);
    expect([...log.lineOf]).toEqual([3, 4, 6, 7, 8]);
  });

  it('reads -1 and empty correct values as steps with no observation, and extra columns interned', async () => {
    const text = `${header},item\ns1,a,-1,i1\ns1,a,,i2\ns1,a,1,i1\n`;
    const log = await readResponseLog(file(text), { ...DEFAULT_COLUMNS, extra: ['item'] });
    expect([...log.rows.correct]).toEqual([NO_OBSERVATION, NO_OBSERVATION, 1]);
    expect(log.extra.get('item')!.ids).toEqual(['i1', 'i2']);
    expect([...log.extra.get('item')!.codes]).toEqual([0, 1, 0]);
    await expect(readResponseLog(file(text), { ...DEFAULT_COLUMNS, extra: ['template'] })).rejects.toThrow(/:1: missing column "template"/);
  });

  it('reads gzip-compressed files and hashes the bytes as stored', async () => {
    const text = `${header}\n${ROWS.join('\n')}\n`;
    const gz = gzipSync(Buffer.from(text));
    const { cols, log } = await columns(file(gz, '.csv.gz'));
    expect(cols).toEqual(EXPECTED);
    const { createHash } = await import('node:crypto');
    expect(log.sha256).toBe(createHash('sha256').update(gz).digest('hex'));
  });

  it('unquotes fields, with commas, escaped quotes and line breaks inside, and counts those lines', async () => {
    const text = `${header},note\n"s,1","x ""y""",1,"two\nlines"\n"s,1","x ""y""",0,"three\r\nlines\rhere"\ns2,z,1,plain\n`;
    const { log } = await columns(file(text));
    expect(log.rows.studentIds).toEqual(['s,1', 's2']);
    expect(log.rows.conceptIds).toEqual(['x "y"', 'z']);
    expect([...log.lineOf]).toEqual([2, 4, 7]);
  });

  it.each([
    ['a short row', `${header}\ns1,a,1\ns1,a\n`, /:3: expected 3 fields as in the header, found 2$/],
    ['a long row', `${header}\r\ns1,a,1\r\ns1,a,1,x\r\n`, /:3: expected 3 fields as in the header, found 4$/],
    ['a bad correct value', `${header}\n\ns1,a,1\ns1,a,2\n`, /:4: correct must be 0, 1, true or false, found "2"$/],
    ['a word as correct', `${header}\ns1,a,yes\n`, /:2: correct must be 0, 1, true or false, found "yes"$/],
    ['an empty student', `${header}\n,a,1\n`, /:2: empty student_id$/],
    ['an empty concept', `${header}\ns1,"",1\n`, /:2: empty concept_id$/],
    ['a missing column', 'student,concept_id,correct\ns1,a,1\n', /:1: missing column "student_id"/],
    ['no data rows', `${header}\n\n`, /:2: no data rows after the header$/],
    ['an empty file', '', /:1: empty file: expected a header row$/],
    ['a row after a quoted line break', `${header}\n"s\n1",a,1\ns1,a,x\n`, /:4: correct must be 0, 1, true or false, found "x"$/],
    ['an unclosed quote', `${header}\ns1,a,1\ns1,"a,1\n`, /:3: a quoted field is never closed/],
    ['text after a closing quote', `${header}\ns1,"a"b,1\n`, /:2: unexpected "b" after the closing quote of field 2$/],
  ])('reports %s as file:line: problem', async (_, text, message) => {
    const path = file(text);
    await expect(readResponseLog(path, DEFAULT_COLUMNS)).rejects.toThrow(message);
    await expect(readResponseLog(path, DEFAULT_COLUMNS)).rejects.toThrow(path);
  });

  it('reports a damaged gzip file', async () => {
    const gz = gzipSync(Buffer.from(`${header}\n${`${ROWS.join("\n")}\n`.repeat(50)}`));
    const path = file(gz.subarray(0, gz.length - 20), '.csv.gz');
    await expect(readResponseLog(path, DEFAULT_COLUMNS)).rejects.toThrow(/not a valid gzip file/);
  });

  it('streamCsv gives every record as strings, with the line it starts on', async () => {
    const seen: [string[], number][] = [];
    let names: readonly string[] = [];
    await streamCsv(file(`\ufeffa,b\r\n1,"x\r\ny"\r\n\r\n2,z`), {
      onHeader: (n) => void (names = n),
      onRecord: (f, line) => void seen.push([[...f], line]),
    });
    expect(names).toEqual(['a', 'b']);
    expect(seen).toEqual([[['1', 'x\r\ny'], 2], [['2', 'z'], 5]]);
  });
});

describe('CsvTokenizer', () => {
  /** Records (fields and line) of `bytes` pushed in pieces cut at `cuts`. */
  function tokenize(bytes: Buffer, cuts: number[]): [string[], number][] {
    const out: [string[], number][] = [];
    const t = new CsvTokenizer('x.csv', (r) => void out.push([recordFields(r), r.line]));
    let at = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      t.push(bytes.subarray(at, cut));
      at = cut;
    }
    t.push(bytes.subarray(at));
    t.end();
    return out;
  }

  const field = fc.oneof(
    fc.stringMatching(/^[a-z0-9é]{0,4}$/),
    fc.stringMatching(/^[a-z,"\r\n]{0,5}$/).map((s) => `"${s.replaceAll('"', '""')}"`),
  );
  const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

  it('gives the same records however the bytes are cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(field, { minLength: 1, maxLength: 4 }), lineEnd), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (rows, bom, rawCuts) => {
          const text = (bom ? '\ufeff' : '') + rows.map(([fields, end]) => fields.join(',') + end).join('');
          const bytes = Buffer.from(text);
          const whole = tokenize(bytes, []);
          const cuts = rawCuts.map((c) => c % (bytes.length + 1));
          expect(tokenize(bytes, cuts)).toEqual(whole);
          // One byte at a time too.
          expect(tokenize(bytes, Array.from({ length: bytes.length }, (_, i) => i))).toEqual(whole);
        },
      ),
      { numRuns: 200, ...(seed === undefined ? {} : { seed }) },
    );
  });
});

describe('the fast path for plain rows', () => {
  /** The log read from `bytes` cut at `cuts`, with or without the fast path; or the error's message. */
  function read(bytes: Buffer, cuts: number[], fast: boolean, columns = DEFAULT_COLUMNS) {
    const reader = new LogReader('x.csv', columns);
    const t = new CsvTokenizer('x.csv', reader.onRecord, 256, fast ? reader.fast : null);
    try {
      let at = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        t.push(bytes.subarray(at, cut));
        at = cut;
      }
      t.push(bytes.subarray(at));
      t.end();
      const log = reader.log('');
      const r = log.rows;
      return {
        studentIds: r.studentIds, conceptIds: r.conceptIds, student: [...r.student], concept: [...r.concept],
        correct: [...r.correct], lines: [...log.lineOf], extra: [...log.extra].map(([k, v]) => [k, v.ids, [...v.codes]]),
      };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  const id = fc.constantFrom('s1', 's2', 'a', 'ab', 'abc', 'é', '"s1"', '"a,b"', '"x""y"', '', '"s\n1"');
  const value = fc.constantFrom('0', '1', '0', '1', 'true', 'false', '-1', '', '"1"', '2', 'yes');
  const lineEnd = fc.constantFrom('\n', '\n', '\r\n', '\r');
  const row = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(id, id, value).map((f) => f.join(',')) },
    { weight: 1, arbitrary: fc.constantFrom('', 's1,a', 's1,a,1,x', 's1,"a"b,1') },
  );

  it('reads the same columns, lines and errors as the record path, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(row, lineEnd), { minLength: 0, maxLength: 30 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (rows, item, rawCuts, finalEnd) => {
          const header = item ? 'student_id,concept_id,correct,item' : 'student_id,concept_id,correct';
          const body = rows.map(([r, end]) => (item && r !== '' ? `${r},i${r.length % 3}` : r) + end).join('');
          const text = `${header}\n${finalEnd ? body : body.replace(/\r?\n$|\r$/, '')}`;
          const bytes = Buffer.from(text);
          const columns = item ? { ...DEFAULT_COLUMNS, extra: ['item'] } : DEFAULT_COLUMNS;
          const cuts = rawCuts.map((c) => c % (bytes.length + 1));
          const slow = read(bytes, [], false, columns);
          expect(read(bytes, [], true, columns)).toEqual(slow);
          expect(read(bytes, cuts, true, columns)).toEqual(slow);
        },
      ),
      { numRuns: 400, ...(seed === undefined ? {} : { seed }) },
    );
  });

  it('reads long files of plain rows, ids that change and repeat, across chunks', async () => {
    const lines = ['student_id,concept_id,correct'];
    for (let i = 0; i < 60_000; i++) lines.push(`stu${Math.floor(i / 7)},c${(i * 13) % 17},${i % 3 === 0 ? 1 : 0}`);
    const text = `${lines.join('\n')}\n`;
    const path = file(text);
    const fast = await readLogBytes(path, DEFAULT_COLUMNS);
    const slow = await readLogBytes(path, DEFAULT_COLUMNS, undefined, false);
    expect(fast.rows).toEqual(slow.rows);
    expect(fast.rows.student[59_999]).toBe(Math.floor(59_999 / 7));
    expect(fast.rows.conceptIds[fast.rows.concept[59_999]]).toBe(`c${(59_999 * 13) % 17}`);
    expect([...fast.lineOf.subarray(0, 3)]).toEqual([2, 3, 4]);
  });

  it('widens the id columns from 16 to 32 bits once ids outgrow them, mid-file, on either path', async () => {
    const lines = ['student_id,concept_id,correct'];
    // 70,000 students and 66,000 concepts; every 1000th row quoted, so the record path meets new ids too.
    for (let i = 0; i < 140_000; i++) {
      const student = `s${i >> 1}`;
      lines.push(`${i % 1000 === 999 ? `"${student}"` : student},c${i % 66_000},${i & 1}`);
    }
    const path = file(`${lines.join('\n')}\n`);
    const fast = await readLogBytes(path, DEFAULT_COLUMNS);
    const slow = await readLogBytes(path, DEFAULT_COLUMNS, undefined, false);
    expect(fast.rows.student).toBeInstanceOf(Uint32Array);
    expect(fast.rows.concept).toBeInstanceOf(Uint32Array);
    expect([...fast.rows.student]).toEqual([...slow.rows.student]);
    expect([...fast.rows.concept]).toEqual([...slow.rows.concept]);
    for (const i of [0, 65_535 * 2, 65_536 * 2 + 1, 139_999]) {
      expect(fast.rows.studentIds[fast.rows.student[i]]).toBe(`s${i >> 1}`);
      expect(fast.rows.conceptIds[fast.rows.concept[i]]).toBe(`c${i % 66_000}`);
    }
    const small = await readLogBytes(file('student_id,concept_id,correct\nu,a,1\n'), DEFAULT_COLUMNS);
    expect(small.rows.student).toBeInstanceOf(Uint16Array);
  });
});
