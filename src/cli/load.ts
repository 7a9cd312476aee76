/** Reading a response log and grouping it for the core, with the CLI's errors and progress. */
import { buildResponseData, type ResponseData } from '../bkt/index.js';
import { type ColumnNames, readResponseLog, type ResponseLog } from './csv-input.js';
import { InputError } from './errors.js';
import type { Progress } from './progress.js';

export interface LoadedData {
  readonly log: ResponseLog;
  readonly data: ResponseData;
  /** Seconds spent reading and parsing the CSV, and grouping its rows. */
  readonly seconds: { readonly parse: number; readonly group: number };
}

export async function loadResponseData(file: string, columns: ColumnNames, progress: Progress): Promise<LoadedData> {
  const t0 = performance.now();
  let started = false;
  const log = await readResponseLog(file, columns, (done, total) => {
    if (!started) progress.phase('read', total);
    started = true;
    progress.update(done);
  });
  progress.stop();
  const t1 = performance.now();
  const { data, nonContiguous } = buildResponseData(log.rows);
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
