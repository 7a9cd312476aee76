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
const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** Longest id the fast path compares with the next row's (a longer one is looked up every row). */
const PREVIOUS_MAX = 256;

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

/** A column of id indices: 16 bits per row while the ids fit, then 32 (8 would make the fast path's stores polymorphic). */
type IdColumn = Uint16Array | Uint32Array;

/** An id column of `capacity` rows that holds index `id`, with the first `length` values of `from`. */
function idColumnFor(id: number, capacity: number, from: IdColumn, length: number): IdColumn {
  const out = id <= 0xffff ? new Uint16Array(capacity) : new Uint32Array(capacity);
  out.set(from.subarray(0, length));
  return out;
}

/** The largest index a column holds. */
function maxIndex(a: IdColumn): number {
  return a.BYTES_PER_ELEMENT === 2 ? 0xffff : 0xffffffff;
}

/**
 * The three columns every log has, grown together: the fast path writes into the arrays themselves. The id columns
 * take 16 bits per row until an id index outgrows them (assist2015's 19,917 students and 100 concepts: 4 bytes per
 * row rather than 8, 2.7 MB less).
 */
class RowColumns {
  student: IdColumn = new Uint16Array(1 << 16);
  concept: IdColumn = new Uint16Array(1 << 16);
  correct = new Uint8Array(1 << 16);
  /** The largest student and concept index the columns hold. */
  maxStudent = 0xffff;
  maxConcept = 0xffff;
  length = 0;

  constructor() {
    // Mutable fields from the start (see ByteInterner's constructor): reserve() replaces the arrays.
    this.student = this.student.subarray(0);
    this.concept = this.concept.subarray(0);
    this.correct = this.correct.subarray(0);
  }

  push(s: number, c: number, v: number): void {
    if (this.length === this.correct.length) this.reserve(2 * this.length);
    if (s > this.maxStudent || c > this.maxConcept) this.widen(s, c);
    const i = this.length++;
    this.student[i] = s;
    this.concept[i] = c;
    this.correct[i] = v;
  }

  /** Room for student index `s` and concept index `c` in the id columns. */
  widen(s: number, c: number): void {
    if (s > this.maxStudent) {
      this.student = idColumnFor(s, this.correct.length, this.student, this.length);
      this.maxStudent = maxIndex(this.student);
    }
    if (c > this.maxConcept) {
      this.concept = idColumnFor(c, this.correct.length, this.concept, this.length);
      this.maxConcept = maxIndex(this.concept);
    }
  }

  /** Room for at least `capacity` rows. */
  reserve(capacity: number): void {
    if (capacity <= this.correct.length) return;
    const n = this.length;
    this.student = idColumnFor(this.maxStudent, capacity, this.student, n);
    this.concept = idColumnFor(this.maxConcept, capacity, this.concept, n);
    const correct = new Uint8Array(capacity);
    correct.set(this.correct.subarray(0, n));
    this.correct = correct;
  }

  /** The rows' values: views when they fill most of the arrays, exact copies otherwise (as GrowableArray.take). */
  take(): { student: IdColumn; concept: IdColumn; correct: Uint8Array } {
    const n = this.length;
    const view = n * 5 >= this.correct.length * 4;
    return {
      student: view ? this.student.subarray(0, n) : this.student.slice(0, n),
      concept: view ? this.concept.subarray(0, n) : this.concept.slice(0, n),
      correct: view ? this.correct.subarray(0, n) : this.correct.slice(0, n),
    };
  }
}

/**
 * The reader's state. Records come through `onRecord` (the header, and any record the fast path leaves: quotes,
 * a bad or unusual value, a short or long row, a blank line) or through `scan`, the fast path for plain rows of a log
 * with no order or extra column: one loop over the bytes, no record object, no call per field.
 */
export class LogReader {
  readonly students = new ByteInterner();
  readonly concepts = new ByteInterner();
  readonly rows = new RowColumns();
  readonly order: GrowableArray<Float64Array> | null;
  readonly extraNames: string[];
  readonly extras: { interner: ByteInterner; codes: GrowableArray<Uint32Array> }[];
  layout: Layout | null = null;
  /** Row i is on line firstLine + i until `lines` is started (then it holds every row's line). */
  firstLine = 0;
  lines: GrowableArray<Uint32Array> | null = null;
  /** Whether `scan` may take rows: the header is read, no order or extra column, every row so far regular. */
  private plain = false;
  private width = 0;
  private iS = 0;
  private iC = 0;
  private iV = 0;
  /** Records `scan` left to `onRecord` after reading them: too many, and it stops trying (a file of quotes). */
  private left = 0;
  private scans = 0;
  /** The previous student and concept as the fast path saw them: bytes (when at most PREVIOUS_MAX), length, id. */
  private readonly prevStudent = new Uint8Array(PREVIOUS_MAX);
  private readonly prevConcept = new Uint8Array(PREVIOUS_MAX);
  private lenS = 0;
  private lenC = 0;
  private idS = 0;
  private idC = 0;

  constructor(
    private readonly file: string,
    private readonly columns: ColumnNames,
  ) {
    this.order = columns.order === null ? null : new GrowableArray(new Float64Array(1 << 16));
    this.extraNames = [...new Set(columns.extra ?? [])];
    this.extras = this.extraNames.map(() => ({ interner: new ByteInterner(), codes: new GrowableArray(new Uint32Array(1 << 16)) }));
  }

  get count(): number {
    return this.rows.length;
  }

  /** Room for at least `capacity` rows in every column. */
  reserve(capacity: number): void {
    this.rows.reserve(capacity);
    this.order?.reserve(capacity);
    for (const x of this.extras) x.codes.reserve(capacity);
  }

  readonly onRecord = (r: CsvRecord): void => {
    const { file, columns, layout } = this;
    if (layout === null) {
      const found = findColumns(file, recordFields(r), columns, this.extraNames);
      this.layout = found;
      this.width = found.width;
      this.iS = found.student;
      this.iC = found.concept;
      this.iV = found.correct;
      this.plain = found.order < 0 && found.extra.length === 0;
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
    const order = this.order;
    if (order !== null) {
      const text = fieldText(r, layout.order);
      const t = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(t)) throw new InputError(file, line, `${columns.order} must be a number, found ${JSON.stringify(text)}`);
      order.push(t);
    }
    this.rows.push(this.students.get(r, iS), this.concepts.get(r, iC), v);
    this.rowLine(line);
    const extras = this.extras;
    for (let k = 0; k < extras.length; k++) extras[k].codes.push(extras[k].interner.get(r, layout.extra[k]));
  };

  /** Records the line of the row just added. */
  private rowLine(line: number): void {
    const row = this.rows.length - 1;
    if (row === 0) this.firstLine = line;
    if (this.lines !== null) this.lines.push(line);
    else if (line !== this.firstLine + row) {
      this.lines = irregularLines(this.firstLine, row, line);
      this.plain = false; // the fast path keeps no line numbers
    }
  }

  /** FastRecords: the plain rows of `b[pos, n)`, each a line ending in LF or CRLF with unquoted fields. */
  readonly fast = {
    lines: 0,
    scan: (b: Buffer, pos: number, n: number, line: number): number => this.scan(b, pos, n, line),
  };

  /**
   * The fast path's loop. A student or concept field is first compared with the same field of the previous row
   * (its bytes kept in `prevStudent` / `prevConcept`): when equal and followed by a delimiter, the id is known
   * without scanning the field for delimiters or looking it up (a student's rows are together, concepts repeat).
   */
  private scan(b: Buffer, pos: number, n: number, line: number): number {
    const fast = this.fast;
    fast.lines = 0;
    if (!this.plain) return pos;
    const rows = this.rows;
    const row0 = rows.length;
    if (row0 === 0) this.firstLine = line;
    // Rows here must go on line after line (a quoted line break before: onRecord starts the line column).
    else if (line !== this.firstLine + row0) return pos;
    const { width, iS, iC, iV, students, concepts, prevStudent, prevConcept } = this;
    let { lenS, lenC, idS, idC } = this;
    let student = rows.student;
    let concept = rows.concept;
    let correct = rows.correct;
    let row = row0;
    let done = pos; // where the records taken end
    let p = pos;
    // The first call stops after a few rows, so the code after the loop has run once before the loop is optimized
    // (optimized code meeting a path never run is dropped and compiled again).
    const limit = this.scans++ === 0 ? row0 + 64 : Infinity;
    records: while (p < n && row < limit) {
      let f = 0;
      let s = p;
      let gotS = -1;
      let gotC = -1;
      let sV = 0;
      let eV = 0;
      let c = 0;
      for (;;) {
        if (f === iS && lenS > 0 && p + lenS < n) {
          let j = 0;
          while (j < lenS && b[p + j] === prevStudent[j]) j++;
          const d = b[p + j];
          if (j === lenS && (d === COMMA || d === LF || d === CR)) {
            p += lenS;
            gotS = idS;
          }
        } else if (f === iC && lenC > 0 && p + lenC < n) {
          let j = 0;
          while (j < lenC && b[p + j] === prevConcept[j]) j++;
          const d = b[p + j];
          if (j === lenC && (d === COMMA || d === LF || d === CR)) {
            p += lenC;
            gotC = idC;
          }
        }
        for (;;) {
          if (p >= n) break records; // the record goes on in the next bytes
          c = b[p];
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE) break records;
          p++;
        }
        if (f === iS && gotS < 0) {
          if (p === s) break records; // empty: onRecord says so
          gotS = idS = students.getBytes(b, s, p);
          if (gotS > rows.maxStudent) {
            rows.length = row;
            rows.widen(gotS, 0);
            student = rows.student;
          }
          lenS = p - s <= PREVIOUS_MAX ? p - s : 0;
          for (let j = 0; j < lenS; j++) prevStudent[j] = b[s + j];
        } else if (f === iC && gotC < 0) {
          if (p === s) break records;
          gotC = idC = concepts.getBytes(b, s, p);
          if (gotC > rows.maxConcept) {
            rows.length = row;
            rows.widen(0, gotC);
            concept = rows.concept;
          }
          lenC = p - s <= PREVIOUS_MAX ? p - s : 0;
          for (let j = 0; j < lenC; j++) prevConcept[j] = b[s + j];
        }
        if (f === iV) {
          sV = s;
          eV = p;
        }
        f++;
        if (c !== COMMA) break;
        if (f === width) break records; // a long row
        s = ++p;
      }
      let next = p + 1;
      if (c === CR) {
        if (next >= n || b[next] !== LF) break; // a CR line end, or its LF in the next bytes
        next++;
      }
      if (f !== width || eV - sV !== 1) break;
      const v = b[sV] - ZERO;
      if (v !== 0 && v !== 1) break;
      if (row === correct.length) {
        rows.length = row;
        rows.reserve(2 * row);
        student = rows.student;
        concept = rows.concept;
        correct = rows.correct;
      }
      student[row] = gotS;
      concept[row] = gotC;
      correct[row] = v;
      row++;
      p = next;
      done = next;
    }
    rows.length = row;
    fast.lines = row - row0;
    // Ids looked up for a record not taken stay valid: they are the previous row's only if equal bytes follow.
    this.lenS = lenS;
    this.lenC = lenC;
    this.idS = idS;
    this.idC = idC;
    // A record left that is complete here goes to onRecord; past a few thousand such, stop offering records.
    if (p < n && row < limit && ++this.left > 4096 && this.left > row) this.plain = false;
    return done;
  }

  log(sha256: string): ResponseLog {
    const { file, layout } = this;
    if (layout === null) throw new InputError(file, 1, 'empty file: expected a header row');
    const count = this.rows.length;
    if (count === 0) throw new InputError(file, 2, 'no data rows after the header');
    const firstLine = this.firstLine;
    let lineOf: Uint32Array | null = this.lines === null ? null : this.lines.take();
    const { student, concept, correct } = this.rows.take();
    const extras = this.extras;
    return {
      rows: {
        studentIds: this.students.ids,
        conceptIds: this.concepts.ids,
        student,
        concept,
        correct,
        order: this.order?.take() ?? null,
      },
      header: layout.header,
      count,
      get lineOf() {
        lineOf ??= Uint32Array.from({ length: count }, (_, i) => firstLine + i); // made when asked for
        return lineOf;
      },
      sha256,
      extra: new Map(this.extraNames.map((name, k) => [name, { ids: extras[k].interner.ids, codes: extras[k].codes.take() }])),
    };
  }
}

/** Reads a response log, checking the columns and every row. Throws InputError naming file and line. */
export async function readLogBytes(file: string, columns: ColumnNames, progress?: ProgressFn, fast = true): Promise<ResponseLog> {
  const reader = new LogReader(file, columns);
  // Once a first part of a plain file is read, its rows per byte estimate the file's rows: the columns are sized
  // once (a tenth more than the estimate) instead of doubling, which would leave up to half of each unused.
  let sized = file.endsWith('.gz');
  const onProgress: ProgressFn = (done, total) => {
    progress?.(done, total);
    if (!sized && reader.count >= 4096) {
      sized = true;
      reader.reserve(Math.ceil((1.1 * reader.count * total) / done));
    }
  };
  const { sha256 } = await streamRecords(file, reader.onRecord, onProgress, fast ? reader.fast : null);
  return reader.log(sha256);
}
