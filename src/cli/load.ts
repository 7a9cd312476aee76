/** Reading a response log and grouping it for the core, with the CLI's errors and progress. */
import { buildResponseData, type ResponseData } from '../bkt/index.js';
import { type ColumnNames, readResponseLog, type ResponseLog } from './csv-input.js';
import { InputError } from './errors.js';
import type { Progress } from './progress.js';

export interface LoadedData {
  readonly log: ResponseLog;
  readonly data: ResponseData;
}

export async function loadResponseData(file: string, columns: ColumnNames, progress: Progress): Promise<LoadedData> {
  let started = false;
  const log = await readResponseLog(file, columns, (done, total) => {
    if (!started) progress.phase('read', total);
    started = true;
    progress.update(done);
  });
  progress.stop();
  const { data, nonContiguous } = buildResponseData(log.rows);
  if (nonContiguous) {
    throw new InputError(
      file,
      log.lineOf[nonContiguous.row],
      `rows of student ${JSON.stringify(nonContiguous.studentId)} are not contiguous (the student's earlier rows end at ` +
        `line ${log.lineOf[nonContiguous.previousRow]}): without --order-col, each student's rows must be together ` +
        'and in time order; sort the file by student or name a time column with --order-col',
    );
  }
  return { log, data };
}
