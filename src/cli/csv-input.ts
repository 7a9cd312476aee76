/**
 * Reading response logs: CSV bytes tokenized (csv-records.ts) and read straight into interned typed columns
 * (read-log.ts), gzip read in place when the name ends in `.gz`, every problem reported as `file:line: problem`.
 *
 * Why not a CSV library (docs/benchmarks.md has the figures, from bench/ingest.ts): Papa Parse and uDSV make a
 * string per field, and interning those strings costs more than the parse; reading bytes, an id equal to the
 * previous row's costs a byte comparison. uDSV also assumes every row has the header's field count, so a short row
 * silently swallows the next line; the byte reader sees every row's own fields.
 */
import { type CsvRecord, type ProgressFn, recordFields, streamRecords } from './csv-records.js';
import { InputError } from './errors.js';
import { type ColumnNames, readLogBytes, type ResponseLog } from './read-log.js';

export { type ColumnNames, DEFAULT_COLUMNS, type ResponseLog } from './read-log.js';

export type { ProgressFn } from './csv-records.js';

export interface CsvVisitor {
  /** The header's column names; may throw an InputError (line 1). */
  onHeader(names: readonly string[]): void;
  /** One record: its fields and the line it starts on. Blank lines are skipped. */
  onRecord(fields: readonly string[], line: number, raw: CsvRecord): void;
}

/**
 * Streams a CSV file through a visitor, with exact line numbers; returns the sha256 of the file's bytes as
 * stored (gzip included). A visitor's exception stops the parse and is rethrown. `raw` is the record as bytes,
 * for callers that copy records through unchanged.
 */
export async function streamCsv(file: string, visitor: CsvVisitor, progress?: ProgressFn): Promise<string> {
  let header = true;
  const { sha256 } = await streamRecords(
    file,
    (r) => {
      if (header) {
        header = false;
        visitor.onHeader(recordFields(r));
      } else {
        visitor.onRecord(recordFields(r), r.line, r);
      }
    },
    progress,
  );
  if (header) throw new InputError(file, 1, 'empty file: expected a header row');
  return sha256;
}

/** Reads a response log, checking the columns and every row. Throws InputError naming file and line. */
export function readResponseLog(file: string, columns: ColumnNames, progress?: ProgressFn): Promise<ResponseLog> {
  return readLogBytes(file, columns, progress);
}
