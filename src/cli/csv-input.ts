/**
 * Reading response logs: CSV streamed through Papa Parse, gzip read in place when the name ends in `.gz`, and
 * every problem reported as `file:line: problem`.
 *
 * Why Papa Parse (docs/cli.md has the figures): uDSV was about twice as fast, but it assumes every row has the
 * header's field count; a short row silently swallows the next line. csv-parse, csv-parser and fast-csv were
 * 3 to 5 times slower. Papa Parse keeps every row's own fields, so short, long and blank rows are seen.
 */
import { GrowableArray } from '../bkt/growable.js';
import { NO_OBSERVATION } from '../bkt/index.js';
import { createReadStream, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import Papa from 'papaparse';
import type { ResponseRows } from '../bkt/index.js';
import { InputError } from './errors.js';

export interface ColumnNames {
  readonly student: string;
  readonly concept: string;
  readonly correct: string;
  /** Optional time column: sorts rows within each student. */
  readonly order: string | null;
  /** Additional columns to read as interned strings (e.g. item, template or class for the model variants). */
  readonly extra?: readonly string[];
}

export const DEFAULT_COLUMNS: ColumnNames = Object.freeze({
  student: 'student_id',
  concept: 'concept_id',
  correct: 'correct',
  order: null,
});

/** Called with bytes read so far and the file size (compressed bytes for .gz). */
export type ProgressFn = (bytesRead: number, totalBytes: number) => void;

export interface CsvVisitor {
  /** The header's column names; may throw an InputError (line 1). */
  onHeader(names: readonly string[]): void;
  /** One record: its fields and the line it starts on. Blank lines are skipped. */
  onRecord(fields: readonly string[], line: number): void;
}

/** Line breaks inside a record's fields (quoted fields may hold them): lines to add beyond the record's own. */
function innerLineBreaks(fields: readonly string[]): number {
  let extra = 0;
  for (let k = 0; k < fields.length; k++) {
    let at = fields[k].indexOf('\n');
    while (at >= 0) {
      extra++;
      at = fields[k].indexOf('\n', at + 1);
    }
  }
  return extra;
}

/**
 * Streams a CSV file through a visitor, with exact line numbers; returns the sha256 of the file's bytes as
 * stored (gzip included). A visitor's exception stops the parse and is rethrown.
 */
export async function streamCsv(file: string, visitor: CsvVisitor, progress?: ProgressFn): Promise<string> {
  const total = statSync(file).size;
  const hash = createHash('sha256');
  const raw = createReadStream(file);
  let bytes = 0;
  raw.on('data', (chunk) => {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    progress?.(bytes, total);
  });
  const text: Readable = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw.pipe(new PassThrough());
  text.setEncoding('utf8'); // decodes characters split across chunks correctly

  let line = 0; // line where the next record starts, minus one
  let header = true;
  let failure: unknown = null;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      failure ??= err;
      raw.destroy();
      resolve();
    };
    raw.on('error', fail);
    // Errors of the text stream are gunzip's (the pass-through has none): a damaged or truncated archive.
    text.on('error', (err: NodeJS.ErrnoException) =>
      fail(new InputError(file, null, `not a valid gzip file (${err.message})`)),
    );
    Papa.parse<string[]>(text as unknown as NodeJS.ReadableStream, {
      skipEmptyLines: false,
      chunk(result, parser) {
        const rows = result.data;
        try {
          for (let r = 0; r < rows.length; r++) {
            const fields = rows[r];
            const start = line + 1;
            line = start + innerLineBreaks(fields);
            if (fields.length === 1 && fields[0] === '') continue; // blank line
            if (header) {
              header = false;
              if (fields[0].charCodeAt(0) === 0xfeff) fields[0] = fields[0].slice(1); // byte order mark
              visitor.onHeader(fields);
            } else {
              visitor.onRecord(fields, start);
            }
          }
        } catch (err) {
          failure = err;
          parser.abort();
        }
      },
      complete: () => resolve(),
      error: (err: Error) => reject(err),
    });
  }).finally(() => raw.destroy());
  if (failure !== null) throw failure;
  if (header) throw new InputError(file, 1, 'empty file: expected a header row');
  return hash.digest('hex');
}

/** A response log read into interned columns, in input order. */
export interface ResponseLog {
  readonly rows: ResponseRows;
  readonly header: readonly string[];
  /** Data rows read (blank lines excluded). */
  readonly count: number;
  /** Line number of each data row (for messages about rows). */
  readonly lineOf: Uint32Array;
  readonly sha256: string;
  /** Each column of `columns.extra`: its values interned in order of first appearance, and a code per row. */
  readonly extra: ReadonlyMap<string, { readonly ids: readonly string[]; readonly codes: Uint32Array }>;
}

/** 1 or 0 for the accepted spellings of `correct`, NO_OBSERVATION for -1 or empty, -1 for anything else. */
function parseCorrect(text: string): number {
  switch (text) {
    case '1':
    case 'true':
      return 1;
    case '0':
    case 'false':
      return 0;
    case '-1':
    case '':
      return NO_OBSERVATION;
    default:
      return -1;
  }
}

/** The options that name extra columns, for the message about a missing one. */
const EXTRA_COLUMN_OPTIONS = 'the option that named it (--multigs, --multilearn, --multiprior or --fold-col)';

class Interner {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();
  private lastId: string | null = null;
  private lastIndex = 0;
  get(id: string): number {
    // Consecutive rows usually repeat the student (and often the concept): skip the map for them.
    if (id === this.lastId) return this.lastIndex;
    let k = this.index.get(id);
    if (k === undefined) {
      k = this.ids.length;
      this.index.set(id, k);
      this.ids.push(id);
    }
    this.lastId = id;
    this.lastIndex = k;
    return k;
  }
}

/** Reads a response log, checking the columns and every row. Throws InputError naming file and line. */
export async function readResponseLog(file: string, columns: ColumnNames, progress?: ProgressFn): Promise<ResponseLog> {
  const students = new Interner();
  const concepts = new Interner();
  const size = 1 << 16;
  const student = new GrowableArray(new Uint32Array(size));
  const concept = new GrowableArray(new Uint32Array(size));
  const correct = new GrowableArray(new Uint8Array(size));
  const order = columns.order === null ? null : new GrowableArray(new Float64Array(size));
  const lineOf = new GrowableArray(new Uint32Array(size));
  const extraNames = [...new Set(columns.extra ?? [])];
  const extras = extraNames.map(() => ({ interner: new Interner(), codes: new GrowableArray(new Uint32Array(size)) }));
  const iExtra: number[] = [];
  let header: readonly string[] = [];
  let iStudent = -1;
  let iConcept = -1;
  let iCorrect = -1;
  let iOrder = -1;
  let width = 0;

  const sha256 = await streamCsv(
    file,
    {
      onHeader(names) {
        header = names;
        width = names.length;
        const find = (name: string, option: string) => {
          const i = names.indexOf(name);
          if (i < 0) {
            throw new InputError(
              file,
              1,
              `missing column "${name}" (the header has: ${names.join(', ')}); name another column with ${option}`,
            );
          }
          return i;
        };
        iStudent = find(columns.student, '--student-col');
        iConcept = find(columns.concept, '--concept-col');
        iCorrect = find(columns.correct, '--correct-col');
        if (columns.order !== null) iOrder = find(columns.order, '--order-col');
        for (const name of extraNames) iExtra.push(find(name, EXTRA_COLUMN_OPTIONS));
      },
      onRecord(fields, line) {
        if (fields.length !== width) {
          throw new InputError(file, line, `expected ${width} fields as in the header, found ${fields.length}`);
        }
        const s = fields[iStudent];
        const c = fields[iConcept];
        if (s === '') throw new InputError(file, line, `empty ${columns.student}`);
        if (c === '') throw new InputError(file, line, `empty ${columns.concept}`);
        const v = parseCorrect(fields[iCorrect]);
        if (v < 0) {
          throw new InputError(
            file,
            line,
            `${columns.correct} must be 0, 1, true or false, found ${JSON.stringify(fields[iCorrect])}`,
          );
        }
        if (order !== null) {
          const text = fields[iOrder];
          const t = text.trim() === '' ? NaN : Number(text);
          if (!Number.isFinite(t)) {
            throw new InputError(file, line, `${columns.order} must be a number, found ${JSON.stringify(text)}`);
          }
          order.push(t);
        }
        student.push(students.get(s));
        concept.push(concepts.get(c));
        correct.push(v);
        lineOf.push(line);
        for (let k = 0; k < extras.length; k++) extras[k].codes.push(extras[k].interner.get(fields[iExtra[k]]));
      },
    },
    progress,
  );
  if (correct.length === 0) throw new InputError(file, 2, 'no data rows after the header');
  return {
    rows: {
      studentIds: students.ids,
      conceptIds: concepts.ids,
      student: student.done(),
      concept: concept.done(),
      correct: correct.done(),
      order: order?.done() ?? null,
    },
    header,
    count: correct.length,
    lineOf: lineOf.done(),
    sha256,
    extra: new Map(extraNames.map((name, k) => [name, { ids: extras[k].interner.ids, codes: extras[k].codes.done() }])),
  };
}
