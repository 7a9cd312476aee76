/**
 * `bkt import`: loads a past response log into the service's history and mastery, replaying it through the core in
 * bulk. Same CSV format and column options as `bkt fit`; the database is the service's (DATABASE_URL, else PGlite).
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config.js';
import {
  BKT_IMPORT_NAMESPACE, type ImportItems, type ImportMapping, type ImportSummary, ImportRefusedError, importLog, mapIds, MAX_ITEM_ID_LENGTH, ParametersCache,
  ServiceError,
} from '../service/index.js';
import { SqlImportStore } from '../store/import-store.js';
import { pairsWrittenHook } from '../store/outbox-hook.js';
import { hasGraphSchema } from '../store/graph-admin.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { migrate, MigrationError } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';
import { SqlStore } from '../store/sql-store.js';
import type { SqlDatabase } from '../store/sql.js';
import { InputError, UsageError } from './errors.js';
import type { ResponseLog } from './csv-input.js';
import { loadResponseData } from './load.js';
import { addColumnOptions, addJsonOption, columnNames, type ColumnOptions, count, parseInteger, parseUuid } from './options.js';
import { AtomicOutput, csvField } from './output.js';
import { makeProgress } from './progress.js';
import { round } from './summary.js';

interface ImportOptions extends ColumnOptions {
  itemCol?: string;
  append: boolean;
  namespace: string;
  mapping?: string;
  batchRows: number;
  transactions: number;
  json: boolean;
}

export function registerImport(program: Command): void {
  const cmd = program
    .command('import')
    .summary("load a past response log into the service's history and mastery")
    .description(
      'Replays every (student, concept) sequence of the log through the core from the prior, under the parameters ' +
        'stored for each concept (else the defaults), and writes the history rows and final states in bulk. Ids that ' +
        'are not UUIDs become UUIDv5 of "student:<id>" / "concept:<id>" under --namespace. Each row\'s response_id ' +
        'derives from the file\'s sha256 and the line, so importing the same file again changes nothing. A pair that ' +
        'already has state is refused unless --append. Uses DATABASE_URL, else the PGlite data in BKT_DATA_DIR, which ' +
        'must not be open in `bkt serve` at the same time.',
    )
    .argument('<data>', 'response log: CSV, or gzip-compressed CSV when the name ends in .gz')
    .option(
      '--item-col <name>',
      "column holding each answer's item id, stored with its history row; an item with its own guess and slip in " +
        "the concept's parameters uses them (default: none; an empty cell is no item)",
    )
    .option('--append', 'continue pairs that already have state from that state (their answers go after the stored ones)', false)
    .option(
      '--namespace <uuid>',
      'UUIDv5 namespace for ids that are not UUIDs and for response ids',
      parseUuid,
      BKT_IMPORT_NAMESPACE,
    )
    .option('--mapping <file>', 'write the id mapping as CSV (kind,id,uuid) to this file ("-" for stdout)')
    .option('--batch-rows <n>', 'rows per transaction (whole pairs)', parseInteger(1, 10_000_000), 20_000)
    .option('--transactions <n>', 'batches in the database at once (on one connection each; PGlite runs them in turn)', parseInteger(1, 16), 2);
  addJsonOption(addColumnOptions(cmd)).action(async (file: string, o: ImportOptions) => runImport(file, o));
}

/** Errors of the database side that the user can act on, as one line. */
function known(e: unknown): Error | undefined {
  if (e instanceof ConfigError || e instanceof MigrationError || e instanceof ImportRefusedError) return e;
  if (e instanceof ServiceError && e.code !== 'unavailable') return e;
  if (e instanceof ServiceError) return new Error(`the database is unavailable: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  return undefined;
}

/** The item column of the log, each id checked against the service's bounds (an empty cell is no item). */
function itemsOf(file: string, log: ResponseLog, column: string): ImportItems {
  const items = log.extra.get(column)!;
  const tooLong = items.ids.findIndex((id) => id.length > MAX_ITEM_ID_LENGTH);
  if (tooLong >= 0) {
    const row = items.codes.indexOf(tooLong);
    throw new InputError(file, log.lineOf[row], `${column} has ${items.ids[tooLong].length} characters; an item id has at most ${MAX_ITEM_ID_LENGTH}`);
  }
  return items;
}

/** Opens the service's database; a PGlite data directory held by another process is a one-line error. */
async function openImportDatabase(file: string, config: Config): Promise<SqlDatabase> {
  try {
    return await openDatabase(config);
  } catch (e) {
    if (e instanceof DataDirLockedError) {
      throw new InputError(
        file,
        null,
        `cannot import into ${config.dataDir}: process ${e.holderPid} holds it (lock file ${e.lockPath}), most likely ` +
          '`bkt serve`. Embedded PGlite is one process\'s database: stop the service, import, then start it again; ' +
          'or run the service on a PostgreSQL server (DATABASE_URL), where import runs beside it',
      );
    }
    throw e;
  }
}

/** The id mapping as CSV (kind,id,uuid). */
function mappingCsv(mapping: ImportMapping): string {
  let text = 'kind,id,uuid\n';
  for (const [id, u] of mapping.students) text += `student,${csvField(id)},${u}\n`;
  for (const [id, u] of mapping.concepts) text += `concept,${csvField(id)},${u}\n`;
  return text;
}

/** The `--json` summary of an import. */
function importResult(
  file: string,
  o: ImportOptions,
  run: { log: ResponseLog; items: ImportItems | undefined; summary: ImportSummary; database: string; seconds: number; total: number },
) {
  const { log, items, summary, seconds } = run;
  return {
    command: 'import',
    input: {
      file: basename(file), sha256: log.sha256, rows: summary.rows, students: summary.students, concepts: summary.concepts,
      items: items === undefined ? null : items.ids.filter((id) => id !== '').length,
    },
    database: run.database,
    pairs: summary.pairs,
    rows_imported: summary.rowsImported,
    pairs_imported: summary.pairsImported,
    rows_already_imported: summary.rowsAlreadyImported,
    pairs_already_imported: summary.pairsAlreadyImported,
    pairs_appended: summary.pairsAppended,
    tables_vacuumed: summary.settled,
    namespace: o.namespace,
    mapping: o.mapping ?? null,
    seconds: { import: round(seconds, 3), total: round(run.total, 3) },
    rows_per_second: summary.rowsImported === 0 ? null : Math.round(summary.rowsImported / seconds),
  };
}

/** The human summary: a warning when VACUUM was refused, then one line (on stderr when the mapping goes to stdout). */
function printImport(file: string, o: ImportOptions, summary: ImportSummary, seconds: number, rowsPerSecond: number | null): void {
  if (!summary.settled) {
    process.stderr.write(
      'bkt: warning: VACUUM of the history table was refused after the import; the first fit ' +
        'job reads history more slowly until autovacuum has run\n',
    );
  }
  const say = o.mapping === '-' ? process.stderr : process.stdout;
  say.write(
    summary.rowsImported === 0
      ? `nothing to import: all ${count(summary.rows)} rows of ${basename(file)} are already imported\n`
      : `imported ${count(summary.rowsImported)} rows (${count(summary.pairsImported)} student-concept pairs) in ` +
          `${round(seconds, 2)} s, ${count(rowsPerSecond ?? 0)} rows/s` +
          (summary.rowsAlreadyImported > 0 ? `; ${count(summary.rowsAlreadyImported)} rows were already imported` : '') +
          (summary.pairsAppended > 0 ? `; ${count(summary.pairsAppended)} pairs continued from their state` : '') +
          '\n',
  );
}

async function runImport(file: string, o: ImportOptions): Promise<void> {
  if (o.json && o.mapping === '-') throw new UsageError('--json prints the summary on stdout: give --mapping a file name');
  const started = performance.now();
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const mappingOut = o.mapping === undefined ? undefined : new AtomicOutput(o.mapping);
  let db: SqlDatabase | undefined;
  try {
    db = await openImportDatabase(file, config);
    if (config.migrateOnStart) await migrate(db);
    const progress = makeProgress();
    const columns = columnNames(o);
    const { log, data } = await loadResponseData(file, o.itemCol === undefined ? columns : { ...columns, extra: [o.itemCol] }, progress);
    const items = o.itemCol === undefined ? undefined : itemsOf(file, log, o.itemCol);
    const mapping = mapIds(data, o.namespace);
    mappingOut?.write(mappingCsv(mapping));
    const store = new SqlStore(db);
    // Imported pairs reach the graph projection like updates do (the outbox queues them only while it is enabled).
    if (await hasGraphSchema(db)) store.onPairsWritten(pairsWrittenHook(config.masteryThreshold));
    const parameters = new ParametersCache(store, 60_000);
    await parameters.refresh();
    const t0 = performance.now();
    let phase = false;
    const summary = await importLog(
      new SqlImportStore(db, store.pairsWritten),
      {
        data,
        lineOf: log.lineOf,
        items,
        sha256: log.sha256,
        namespace: o.namespace,
        append: o.append,
        batchRows: o.batchRows,
        transactions: o.transactions,
        threshold: config.masteryThreshold,
        parameters: (c) => parameters.get(c),
        onProgress: (done, total) => {
          if (!phase) progress.phase('import', total);
          phase = true;
          progress.update(done);
        },
      },
      mapping,
    );
    progress.stop();
    mappingOut?.commit();
    const seconds = (performance.now() - t0) / 1000;
    const database = config.databaseUrl ? 'postgres' : 'pglite';
    const result = importResult(file, o, { log, items, summary, database, seconds, total: (performance.now() - started) / 1000 });
    if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else printImport(file, o, summary, seconds, result.rows_per_second);
  } catch (e) {
    const k = known(e);
    if (k) throw new InputError(file, null, k.message);
    throw e;
  } finally {
    mappingOut?.abort();
    await db?.close();
  }
}
