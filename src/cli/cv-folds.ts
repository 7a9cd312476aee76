/** `bkt cv --fold-col` and `--predictions`: folds taken from a column of the data, and held-out rows written out. */
import { NO_OBSERVATION, type ResponseData } from '../bkt/index.js';
import type { ResponseLog } from './csv-input.js';
import { InputError } from './errors.js';
import { AtomicOutput, csvField } from './output.js';

export interface GivenFolds {
  /** Fold index of every student index of `data`. */
  readonly foldOfStudent: Uint32Array;
  /** The column's value naming each fold index (sorted: numerically when every value is a number). */
  readonly labels: readonly string[];
}

/**
 * Folds from the column's values: each distinct value is a fold, and every row of a student must carry the same
 * value (cross-validation holds out whole students). Throws an InputError naming the first row that disagrees.
 */
export function foldsFromColumn(file: string, log: ResponseLog, data: ResponseData, column: string): GivenFolds {
  const values = log.extra.get(column);
  if (values === undefined) throw new InputError(file, 1, `missing column "${column}" named by --fold-col`);
  const numeric = values.ids.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  const order = values.ids.map((_, k) => k).sort((a, b) =>
    numeric ? Number(values.ids[a]) - Number(values.ids[b]) : values.ids[a] < values.ids[b] ? -1 : values.ids[a] > values.ids[b] ? 1 : 0,
  );
  const foldOfCode = new Uint32Array(values.ids.length);
  order.forEach((code, fold) => (foldOfCode[code] = fold));
  if (values.ids.length < 2) {
    throw new InputError(file, null, `--fold-col ${column} holds ${values.ids.length} distinct value(s): cross-validation needs at least 2 folds`);
  }
  const unset = 0xffffffff;
  const foldOfStudent = new Uint32Array(data.studentIds.length).fill(unset);
  const firstRow = new Uint32Array(data.studentIds.length);
  for (let s = 0; s + 1 < data.offsets.length; s++) {
    const student = data.seqStudent[s];
    for (let t = data.offsets[s]; t < data.offsets[s + 1]; t++) {
      const row = data.rowOf[t];
      const fold = foldOfCode[values.codes[row]];
      if (foldOfStudent[student] === unset) {
        foldOfStudent[student] = fold;
        firstRow[student] = row;
      } else if (foldOfStudent[student] !== fold) {
        throw new InputError(
          file,
          log.lineOf[row],
          `student ${JSON.stringify(data.studentIds[student])} has ${column} ${JSON.stringify(values.ids[values.codes[row]])} here ` +
            `but ${JSON.stringify(values.ids[values.codes[firstRow[student]]])} at line ${log.lineOf[firstRow[student]]}: ` +
            'cross-validation holds out whole students, so each student needs one fold',
        );
      }
    }
  }
  return { foldOfStudent, labels: order.map((code) => values.ids[code]) };
}

/**
 * Writes every held-out row, in input order: row (1-based data row), fold (its label), prediction (P(correct) when
 * held out) and observed (1, 0, or empty for a step with no observation).
 */
export function writePredictions(
  target: string,
  data: ResponseData,
  pCorrect: Float64Array,
  foldOfRow: Uint32Array,
  labels: readonly string[],
): void {
  const output = new AtomicOutput(target);
  try {
    const n = data.responses.length;
    const grouped = new Uint32Array(n);
    for (let t = 0; t < n; t++) grouped[data.rowOf[t]] = t;
    let text = 'row,fold,prediction,observed\n';
    for (let i = 0; i < n; i++) {
      const t = grouped[i];
      const r = data.responses[t];
      text += `${i + 1},${csvField(labels[foldOfRow[t]])},${pCorrect[t]},${r === NO_OBSERVATION ? '' : r}\n`;
      if (text.length > 1 << 16) {
        output.write(text);
        text = '';
      }
    }
    output.write(text);
    output.commit();
  } finally {
    output.abort();
  }
}
