/**
 * Builds the grouped `ResponseData` from a response log in input order: rows grouped by concept (in order of first
 * appearance), then by student (in order of first appearance), each (student, concept) sequence in time order.
 *
 * Time order within a student is the input order, or, given an order key, the key's order (stable: equal keys keep
 * input order). Without a key, a student whose rows are not contiguous is reported (the first offending row): such
 * a file is usually several logs concatenated or sorted by something else, and input order would then not be time.
 */
import type { ResponseData } from './dataset.js';
import { NO_OBSERVATION } from './trace.js';
import { groupVariants, VARIANT_KINDS, type VariantRows } from './variants.js';

/** A response log in input order, with ids interned: row i is (studentIds[student[i]], conceptIds[concept[i]]). */
export interface ResponseRows {
  readonly studentIds: readonly string[];
  readonly conceptIds: readonly string[];
  /** Student index per row; any of the unsigned typed arrays (a reader can keep a few ids in 8 or 16 bits). */
  readonly student: Uint8Array | Uint16Array | Uint32Array;
  /** Concept index per row, as `student`. */
  readonly concept: Uint8Array | Uint16Array | Uint32Array;
  /** 1 = correct, 0 = wrong, NO_OBSERVATION (2) = a step with no observed answer. */
  readonly correct: Uint8Array;
  /** Optional time key per row; sorts rows within each student. */
  readonly order?: Float64Array | null;
  /** Optional value columns of the model variants (a code per row, in input order). */
  readonly variants?: VariantRows;
}

/** A student's rows resumed after other students' rows (input row numbers are 0-based data rows). */
export interface NonContiguousStudent {
  readonly studentId: string;
  /** The row where the student reappears. */
  readonly row: number;
  /** The last row of the student's earlier block. */
  readonly previousRow: number;
}

/** The grouped data built from rows, with the first non-contiguous student when order was not given. */
export interface BuiltData {
  readonly data: ResponseData;
  /** Set when no order key was given and some student's rows are not contiguous; null otherwise. */
  readonly nonContiguous: NonContiguousStudent | null;
}

/**
 * Interns parallel arrays of string ids (ids in order of first appearance) into `ResponseRows`. In `correct`,
 * true/nonzero is correct, false/0 wrong, and null, -1 or NO_OBSERVATION a step with no observed answer.
 */
export function internRows(
  studentIds: readonly string[],
  conceptIds: readonly string[],
  correct: ArrayLike<number | boolean | null>,
  order?: ArrayLike<number> | null,
): ResponseRows {
  const n = studentIds.length;
  if (conceptIds.length !== n || correct.length !== n || (order && order.length !== n)) {
    throw new RangeError('studentIds, conceptIds, correct (and order) must have the same length');
  }
  const intern = (ids: readonly string[]) => {
    const index = new Map<string, number>();
    const table: string[] = [];
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let k = index.get(ids[i]);
      if (k === undefined) {
        k = table.length;
        index.set(ids[i], k);
        table.push(ids[i]);
      }
      out[i] = k;
    }
    return { table, out };
  };
  const s = intern(studentIds);
  const c = intern(conceptIds);
  return {
    studentIds: s.table,
    conceptIds: c.table,
    student: s.out,
    concept: c.out,
    correct: Uint8Array.from(correct as ArrayLike<number | boolean | null>, (v) =>
      v === null || v === -1 || v === NO_OBSERVATION ? NO_OBSERVATION : v ? 1 : 0,
    ),
    order: order ? Float64Array.from(order) : null,
  };
}

/** Options of `buildResponseData`. */
export interface BuildOptions {
  /**
   * Whether to fill `rowOf`, the input row of each grouped row (default true). False leaves it empty (length 0), 4
   * bytes per row less, for callers that never map grouped rows back to input rows, such as a fit.
   */
  readonly rowOf?: boolean;
}

/** An index column of `ResponseRows`. */
type IndexColumn = ResponseRows['student'];

/** Groups a response log into `ResponseData` (see the file comment). Linear time without an order key. */
export function buildResponseData(rows: ResponseRows, options: BuildOptions = {}): BuiltData {
  const { student, concept, correct, studentIds, conceptIds } = rows;
  const n = student.length;
  if (concept.length !== n || correct.length !== n || (rows.order && rows.order.length !== n)) {
    throw new RangeError('student, concept, correct (and order) must have the same length');
  }
  const nStudents = studentIds.length;
  const nConcepts = conceptIds.length;
  for (let i = 0; i < n; i++) {
    if (student[i] >= nStudents) throw new RangeError(`row ${i}: student index ${student[i]} out of range`);
    if (concept[i] >= nConcepts) throw new RangeError(`row ${i}: concept index ${concept[i]} out of range`);
  }
  checkVariantRows(rows.variants, n);

  const time = rows.order ? sortByStudentThenKey(student, rows.order, nStudents) : null;
  const nonContiguous = time ? null : findNonContiguous(student, studentIds);

  // Concepts and students in order of first appearance (in time order).
  const conceptRank = firstAppearanceRanks(concept, nConcepts, time);
  const studentRank = firstAppearanceRanks(student, nStudents, time);
  const conceptByRank = invert(conceptRank);
  const studentByRank = invert(studentRank);

  // Rows in time order, grouped by student: the input order itself when each student's rows are together and
  // there is no order key (no array then), else a stable counting sort by student rank.
  const byStudent =
    time === null && nonContiguous === null ? null : countingSort(n, nStudents, (t) => studentRank[student[time ? time[t] : t]], time);

  // A stable counting sort of those rows by concept rank orders them by (concept, student, time): each
  // (student, concept) sequence is then contiguous, and the sequences of a concept follow in student order. A row
  // whose student differs from the previous row of its concept starts a sequence. A first pass counts the rows and
  // sequences of each concept, the second places rows and sequences.
  const conceptStart = new Uint32Array(nConcepts + 1);
  const conceptSeqs = new Uint32Array(nConcepts + 1);
  const lastStudent = new Int32Array(nConcepts).fill(-1);
  for (let k = 0; k < n; k++) {
    const i = byStudent === null ? k : byStudent[k];
    const cr = conceptRank[concept[i]];
    conceptStart[cr + 1]++;
    if (lastStudent[cr] !== student[i]) {
      lastStudent[cr] = student[i];
      conceptSeqs[cr + 1]++;
    }
  }
  for (let c = 0; c < nConcepts; c++) {
    conceptStart[c + 1] += conceptStart[c];
    conceptSeqs[c + 1] += conceptSeqs[c];
  }
  const nSeq = conceptSeqs[nConcepts];
  const fill = conceptStart.subarray(0, nConcepts);
  const seqFill = conceptSeqs.slice(0, nConcepts);
  lastStudent.fill(-1);
  const responses = new Uint8Array(n);
  const offsets = new Uint32Array(nSeq + 1);
  const seqStudent = new Uint32Array(nSeq);
  // The variants' values are grouped through rowOf, so it is made for them even when not kept.
  const rowOf = options.rowOf !== false || rows.variants !== undefined ? new Uint32Array(n) : null;
  for (let k = 0; k < n; k++) {
    const i = byStudent === null ? k : byStudent[k];
    const cr = conceptRank[concept[i]];
    const at = fill[cr]++;
    const v = correct[i];
    responses[at] = v === NO_OBSERVATION ? NO_OBSERVATION : v !== 0 ? 1 : 0;
    const s = student[i];
    if (lastStudent[cr] !== s) {
      lastStudent[cr] = s;
      const q = seqFill[cr]++;
      offsets[q] = at;
      seqStudent[q] = studentRank[s];
    }
    if (rowOf !== null) rowOf[at] = i;
  }
  offsets[nSeq] = n;

  const data: ResponseData = {
    responses,
    offsets,
    conceptSeqs,
    conceptIds: Array.from(conceptByRank, (k) => conceptIds[k]),
    seqStudent,
    studentIds: Array.from(studentByRank, (k) => studentIds[k]),
    rowOf: options.rowOf !== false && rowOf !== null ? rowOf : new Uint32Array(0),
  };
  const variants = rowOf === null ? undefined : groupVariants(rows.variants, rowOf, data);
  return { data: variants === undefined ? data : { ...data, variants }, nonContiguous };
}

function checkVariantRows(variants: VariantRows | undefined, n: number): void {
  for (const kind of VARIANT_KINDS) {
    const v = variants?.[kind];
    if (v === undefined) continue;
    if (v.codes.length !== n) throw new RangeError(`variants.${kind} has ${v.codes.length} codes for ${n} rows`);
    for (let i = 0; i < n; i++) {
      if (v.codes[i] >= v.ids.length) throw new RangeError(`row ${i}: variants.${kind} code ${v.codes[i]} out of range`);
    }
  }
}

/**
 * Stable counting sort of `count` items by an integer key in [0, keys): returns the items in key order. Items are
 * 0..count-1, or `items[0..count-1]` when given (the key function then receives the position in `items`).
 */
function countingSort(count: number, keys: number, key: (k: number) => number, items: Uint32Array | null): Uint32Array {
  const start = new Uint32Array(keys + 1);
  for (let k = 0; k < count; k++) start[key(k) + 1]++;
  for (let v = 0; v < keys; v++) start[v + 1] += start[v];
  const out = new Uint32Array(count);
  for (let k = 0; k < count; k++) out[start[key(k)]++] = items ? items[k] : k;
  return out;
}

/**
 * Row indices grouped by student (in order of first appearance), each student's rows sorted by the order key,
 * stably (equal keys keep input order; NaN sorts last). Linear when each student's keys are already in order.
 */
function sortByStudentThenKey(student: IndexColumn, order: Float64Array, nStudents: number): Uint32Array {
  const n = student.length;
  const rank = firstAppearanceRanks(student, nStudents, null);
  const rows = countingSort(n, nStudents, (i) => rank[student[i]], null);
  const key = (i: number) => (Number.isNaN(order[i]) ? Infinity : order[i]);
  let start = 0;
  for (let k = 1; k <= n; k++) {
    if (k < n && student[rows[k]] === student[rows[start]]) continue;
    let sorted = true;
    for (let j = start + 1; j < k && sorted; j++) sorted = key(rows[j - 1]) <= key(rows[j]);
    if (!sorted) rows.subarray(start, k).sort((a, b) => compareNumbers(key(a), key(b)) || a - b);
    start = k;
  }
  return rows;
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** For each id, its rank by first appearance (rows visited in `visit` order, or input order). */
function firstAppearanceRanks(ids: IndexColumn, count: number, visit: Uint32Array | null): Uint32Array {
  const rank = new Uint32Array(count).fill(0xffffffff);
  let next = 0;
  for (let t = 0; t < ids.length; t++) {
    const id = ids[visit ? visit[t] : t];
    if (rank[id] === 0xffffffff) rank[id] = next++;
  }
  // Ids never used go last, in index order, so every id keeps a slot.
  for (let id = 0; id < count; id++) if (rank[id] === 0xffffffff) rank[id] = next++;
  return rank;
}

function invert(rank: Uint32Array): Uint32Array {
  const out = new Uint32Array(rank.length);
  for (let id = 0; id < rank.length; id++) out[rank[id]] = id;
  return out;
}

function findNonContiguous(student: IndexColumn, studentIds: readonly string[]): NonContiguousStudent | null {
  const lastRow = new Int32Array(studentIds.length).fill(-1);
  for (let i = 0; i < student.length; i++) {
    const s = student[i];
    if (i > 0 && student[i - 1] !== s && lastRow[s] >= 0) {
      return { studentId: studentIds[s], row: i, previousRow: lastRow[s] };
    }
    lastRow[s] = i;
  }
  return null;
}
