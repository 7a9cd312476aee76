/** Reading a response log and grouping it for the core, with the CLI's errors and progress. */
import { buildResponseData, type ResponseData } from '../bkt/index.js';
import { type ColumnNames, readResponseLog, type ResponseLog } from './csv-input.js';
import { InputError } from './errors.js';
import type { Progress } from './progress.js';
import type { VariantColumnNames } from './params-file.js';
import { variantColumnList, variantRows } from './variant-options.js';

/** The variants' columns to read and group with the rows, and whether every row needs a value (fitting). */
export interface VariantLoad {
  readonly columns: VariantColumnNames;
  readonly fitting: boolean;
}

export interface LoadedData {
  readonly log: ResponseLog;
  readonly data: ResponseData;
  /** Seconds spent reading and parsing the CSV, and grouping its rows. */
  readonly seconds: { readonly parse: number; readonly group: number };
}

/**
 * Reads and groups a log. `rowOf: false` leaves `data.rowOf` empty, for callers that never map grouped rows back to
 * input rows (`bkt fit`): 4 bytes per row less at the end of loading, where the fit's peak memory can fall.
 */
export async function loadResponseData(
  file: string,
  columns: ColumnNames,
  progress: Progress,
  variants?: VariantLoad,
  { rowOf = true }: { readonly rowOf?: boolean } = {},
): Promise<LoadedData> {
  const t0 = performance.now();
  let started = false;
  const named = variants ? variantColumnList(variants.columns) : [];
  const extra = [...(columns.extra ?? []), ...named.map((n) => n.column)];
  const extraOptions = new Map([...(columns.extraOptions ?? []), ...named.map((n) => [n.column, n.option] as const)]);
  const log = await readResponseLog(file, { ...columns, extra, extraOptions }, (done, total) => {
    if (!started) progress.phase('read', total);
    started = true;
    progress.update(done);
  });
  progress.stop();
  const t1 = performance.now();
  const rowVariants = variants ? variantRows(file, log, variants.columns, variants.fitting) : undefined;
  const { data, nonContiguous } = buildResponseData(rowVariants ? { ...log.rows, variants: rowVariants } : log.rows, { rowOf });
  const t2 = performance.now();
  if (nonContiguous) {
    throw new InputError(
      file,
      log.lineOf[nonContiguous.row],
      `rows of student ${JSON.stringify(nonContiguous.studentId)} are not contiguous (the student's earlier rows end at ` +
        `line ${log.lineOf[nonContiguous.previousRow]}): without --order-col, each student's rows must be together ` +
        'and in time order; sort the file by student or name a time column with --order-col',
    );
  }
  return { log, data, seconds: { parse: (t1 - t0) / 1000, group: (t2 - t1) / 1000 } };
}
