/**
 * Reading a response log from CSV bytes straight into interned typed columns (csv-input.ts's readResponseLog).
 * Ids are interned by their bytes (byte-interner.ts): a string per distinct id, none per row. Line numbers are kept
 * per row only once a row is not on the line after the previous one (a blank line, a line break inside quotes).
 */
import { GrowableArray } from '../bkt/growable.js';
import { NO_OBSERVATION } from '../bkt/index.js';
import type { ResponseRows } from '../bkt/index.js';
import { ByteInterner } from './byte-interner.js';
import { type CsvRecord, fieldText, type ProgressFn, recordFields, streamRecords } from './csv-records.js';
import { InputError } from './errors.js';

export interface ColumnNames {
  readonly student: string;
  readonly concept: string;
  readonly correct: string;
  /** Optional time column: sorts rows within each student. */
  readonly order: string | null;
  /** Additional columns to read as interned strings (e.g. item, template or class for the model variants). */
  readonly extra?: readonly string[];
  /** The option that named each extra column, for the message about a missing one. */
  readonly extraOptions?: ReadonlyMap<string, string>;
}

export const DEFAULT_COLUMNS: ColumnNames = Object.freeze({
  student: 'student_id',
  concept: 'concept_id',
  correct: 'correct',
  order: null,
});

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

const ZERO = 0x30;
const ONE = 0x31;

/** 1 or 0 for the accepted spellings of `correct`, NO_OBSERVATION for -1 or empty, -1 for anything else. */
export function parseCorrect(text: string): number {
  switch (text) {
    case '-1':
    case '':
      return NO_OBSERVATION;
    case '1':
    case 'true':
      return 1;
    case '0':
    case 'false':
      return 0;
    default:
      return -1;
  }
}

interface Layout {
  header: string[];
  width: number;
  student: number;
  concept: number;
  correct: number;
  order: number;
  extra: number[];
}

/** The options that name extra columns, for the message about a missing one. */
const EXTRA_COLUMN_OPTIONS = 'the option that named it (--multigs, --multilearn, --multiprior, --fold-col or --item-col)';

function findColumns(file: string, names: string[], columns: ColumnNames, extraNames: readonly string[]): Layout {
  const find = (name: string, option: string) => {
    const i = names.indexOf(name);
    if (i < 0) {
      throw new InputError(file, 1, `missing column "${name}" (the header has: ${names.join(', ')}); name another column with ${option}`);
    }
    return i;
  };
  return {
    header: names,
    width: names.length,
    student: find(columns.student, '--student-col'),
    concept: find(columns.concept, '--concept-col'),
    correct: find(columns.correct, '--correct-col'),
    order: columns.order === null ? -1 : find(columns.order, '--order-col'),
    extra: extraNames.map((name) => find(name, columns.extraOptions?.get(name) ?? EXTRA_COLUMN_OPTIONS)),
  };
}

/** Every line so far (rows 0..row-1 on consecutive lines from firstLine), then `line` for row `row`. */
function irregularLines(firstLine: number, row: number, line: number): GrowableArray<Uint32Array> {
  const lines = new GrowableArray(new Uint32Array(Math.max(2 * row, 1 << 12)));
  for (let i = 0; i < row; i++) lines.push(firstLine + i);
  lines.push(line);
  return lines;
}

/** Reads a response log, checking the columns and every row. Throws InputError naming file and line. */
export async function readLogBytes(file: string, columns: ColumnNames, progress?: ProgressFn): Promise<ResponseLog> {
  const students = new ByteInterner();
  const concepts = new ByteInterner();
  const size = 1 << 16;
  const student = new GrowableArray(new Uint32Array(size));
  const concept = new GrowableArray(new Uint32Array(size));
  const correct = new GrowableArray(new Uint8Array(size));
  const order = columns.order === null ? null : new GrowableArray(new Float64Array(size));
  // Row i is on line firstLine + i until `lines` is started (then it holds every row's line).
  let firstLine = 0;
  let lines: GrowableArray<Uint32Array> | null = null;
  const extraNames = [...new Set(columns.extra ?? [])];
  const extras = extraNames.map(() => ({ interner: new ByteInterner(), codes: new GrowableArray(new Uint32Array(size)) }));
  let layout: Layout | null = null;

  const onRecord = (r: CsvRecord) => {
    if (layout === null) {
      layout = findColumns(file, recordFields(r), columns, extraNames);
      return;
    }
    const line = r.line;
    if (r.fields !== layout.width) {
      throw new InputError(file, line, `expected ${layout.width} fields as in the header, found ${r.fields}`);
    }
    const { student: iS, concept: iC, correct: iV } = layout;
    if (r.end[iS] === r.start[iS]) throw new InputError(file, line, `empty ${columns.student}`);
    if (r.end[iC] === r.start[iC]) throw new InputError(file, line, `empty ${columns.concept}`);
    let v: number;
    const at = r.start[iV];
    if (r.end[iV] - at === 1 && (r.bytes[at] === ZERO || r.bytes[at] === ONE)) {
      v = r.bytes[at] - ZERO;
    } else {
      const text = fieldText(r, iV);
      v = parseCorrect(text);
      if (v < 0) throw new InputError(file, line, `${columns.correct} must be 0, 1, true or false, found ${JSON.stringify(text)}`);
    }
    if (order !== null) {
      const text = fieldText(r, layout.order);
      const t = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(t)) throw new InputError(file, line, `${columns.order} must be a number, found ${JSON.stringify(text)}`);
      order.push(t);
    }
    student.push(students.get(r, iS));
    concept.push(concepts.get(r, iC));
    correct.push(v);
    const row = correct.length - 1;
    if (row === 0) firstLine = line;
    if (lines !== null) lines.push(line);
    else if (line !== firstLine + row) lines = irregularLines(firstLine, row, line);
    for (let k = 0; k < extras.length; k++) extras[k].codes.push(extras[k].interner.get(r, layout.extra[k]));
  };

  // Once a first part of a plain file is read, its rows per byte estimate the file's rows: the columns are sized
  // once (a tenth more than the estimate) instead of doubling, which would leave up to half of each unused.
  const columnsOf = [student, concept, correct, ...(order === null ? [] : [order]), ...extras.map((x) => x.codes)];
  let sized = file.endsWith('.gz');
  const onProgress: ProgressFn = (done, total) => {
    progress?.(done, total);
    if (!sized && correct.length >= 4096) {
      sized = true;
      const estimate = Math.ceil((1.1 * correct.length * total) / done);
      for (const column of columnsOf) column.reserve(estimate);
    }
  };
  const { sha256 } = await streamRecords(file, onRecord, onProgress);
  if (layout === null) throw new InputError(file, 1, 'empty file: expected a header row');
  if (correct.length === 0) throw new InputError(file, 2, 'no data rows after the header');
  const header: readonly string[] = (layout as Layout).header;
  const count = correct.length;
  const lineColumn = lines as GrowableArray<Uint32Array> | null;
  let lineOf: Uint32Array | null = lineColumn === null ? null : lineColumn.take();
  return {
    rows: {
      studentIds: students.ids,
      conceptIds: concepts.ids,
      student: student.take(),
      concept: concept.take(),
      correct: correct.take(),
      order: order?.take() ?? null,
    },
    header,
    count,
    get lineOf() {
      lineOf ??= Uint32Array.from({ length: count }, (_, i) => firstLine + i); // made when asked for
      return lineOf;
    },
    sha256,
    extra: new Map(extraNames.map((name, k) => [name, { ids: extras[k].interner.ids, codes: extras[k].codes.take() }])),
  };
}
