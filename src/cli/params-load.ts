/**
 * `bkt params load <file>`: a `bkt fit` params file into the service's database, so that a researcher's fit goes to
 * production without copying numbers by hand. Each concept becomes a new version of its parameters, with the file's
 * per-item guess and slip (per_value.guess_slip) and learn and forget (per_value.learn) as its items; all in one
 * transaction. Concepts whose stored
 * parameters and items already equal the file's keep their version, so loading a file twice writes nothing.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import type { PerValueParams } from '../bkt/index.js';
import { BKT_IMPORT_NAMESPACE, importedId, type ItemParams, itemsOfFit, MAX_ITEM_ID_LENGTH, ServiceError } from '../service/index.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { migrate, MigrationError } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';
import { loadParameterSets, type LoadOutcome, type ParameterSet } from '../store/params-load-store.js';
import type { SqlDatabase } from '../store/sql.js';
import { InputError } from './errors.js';
import { addJsonOption, count, parseUuid } from './options.js';
import { type LoadedParams, readParamsFile } from './params-file.js';

interface LoadOptions {
  dryRun: boolean;
  skipFallback: boolean;
  namespace: string;
  json: boolean;
}

export function registerParams(program: Command): void {
  const params = program.command('params').summary("move a params file's parameters into the service");
  const load = params
    .command('load')
    .summary("load a `bkt fit` params file into the service's parameters")
    .description(
      'Writes each concept of the params file as a new version of its parameters, with the per-item guess and slip ' +
        'of per_value.guess_slip (a fit with --multigs) and learn and forget of per_value.learn (--multilearn, by the ' +
        'same column) as its items, in one transaction. A concept marked ' +
        '"use": "fallback" gets the file\'s fallback parameters, as `bkt predict` uses them (or is left as it is with ' +
        '--skip-fallback). Concept ids that are not UUIDs become UUIDv5 under --namespace, as `bkt import` maps them. ' +
        'A concept whose stored parameters and items already equal the file\'s keeps its version: loading the same ' +
        'file again changes nothing. Uses DATABASE_URL, else the PGlite data in BKT_DATA_DIR. Instances pick the ' +
        'change up within BKT_PARAMS_REFRESH_MS.',
    )
    .argument('<file>', 'params file written by `bkt fit` (schema_version 1 or 2)')
    .option('--dry-run', 'print what would change and write nothing', false)
    .option('--skip-fallback', 'leave the concepts the file marks "use": "fallback" as they are', false)
    .option(
      '--namespace <uuid>',
      'UUIDv5 namespace for concept ids that are not UUIDs (the one `bkt import` used)',
      parseUuid,
      BKT_IMPORT_NAMESPACE,
    );
  addJsonOption(load).action(async (file: string, o: LoadOptions) => runLoad(file, o));
}

/** The file's concept ids by index, to name the concept in a message about `concepts[i]` (null: not readable). */
function conceptIdsOf(path: string): unknown[] | null {
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { concepts?: unknown };
    return Array.isArray(json.concepts) ? json.concepts.map((c) => (isObject(c) ? c.concept_id : undefined)) : null;
  } catch {
    return null;
  }
}

/** readParamsFile, with the concept's id added to a message about one of its entries. */
function readNamingConcepts(path: string): { loaded: LoadedParams; entries: unknown[] } {
  const entries = conceptIdsOf(path);
  try {
    return { loaded: readParamsFile(path), entries: entries ?? [] };
  } catch (e) {
    const at = e instanceof InputError ? /^concepts\[(\d+)\]/.exec(e.problem) : null;
    const id = at && entries ? entries[Number(at[1])] : undefined;
    if (!(e instanceof InputError) || typeof id !== 'string') throw e;
    throw new InputError(e.file, e.line, e.problem.replace(at![0], `${at![0]} (concept ${JSON.stringify(id)})`));
  }
}

/** The parameter sets of a params file, with the ids the service knows the concepts by. */
export function readParameterSets(path: string, o: Pick<LoadOptions, 'skipFallback' | 'namespace'>): { sets: (ParameterSet & { fileId: string })[]; skipped: number } {
  const { loaded } = readNamingConcepts(path);
  // The rows each concept was fitted on, stored as its sample_size (a statistic readParamsFile does not keep).
  const json = JSON.parse(readFileSync(path, 'utf8')) as { concepts: Record<string, unknown>[] };
  const responses = new Map(json.concepts.map((c) => [c.concept_id, typeof c.responses === 'number' && Number.isSafeInteger(c.responses) ? c.responses : 0]));
  const sets: (ParameterSet & { fileId: string })[] = [];
  const ids = new Map<string, string>();
  let skipped = 0;
  [...loaded.concepts].forEach(([fileId, concept], i) => {
    const fail = (field: string, problem: string): never => {
      throw new InputError(path, null, `concepts[${i}] (concept ${JSON.stringify(fileId)}).${field}: ${problem}`);
    };
    if (concept.use === 'fallback' && o.skipFallback) {
      skipped++;
      return;
    }
    const conceptId = importedId('concept', fileId, o.namespace);
    const other = ids.get(conceptId);
    if (other !== undefined) fail('concept_id', `${JSON.stringify(other)} and ${JSON.stringify(fileId)} are the same UUID`);
    ids.set(conceptId, fileId);
    const fitted = concept.use === 'fitted';
    const items = fitted ? itemsOfConcept(concept.perValue, fail) : [];
    sets.push({ fileId, conceptId, params: fitted ? concept.params : loaded.fallback, items, sampleSize: responses.get(fileId) ?? 0 });
  });
  return { sets, skipped };
}

/**
 * A fitted concept's items: its per-value guess and slip (multigs) and learn and forget (multilearn), which the
 * service keys by item, so both must be by the same column.
 */
function itemsOfConcept(perValue: PerValueParams | undefined, fail: (field: string, problem: string) => never): ItemParams[] {
  const gs = perValue?.guessSlip;
  const lf = perValue?.learn;
  if (gs !== undefined && lf !== undefined && gs.column !== lf.column) {
    fail('per_value.learn.column', `the service keys items by one column: learn is by ${JSON.stringify(lf.column)}, guess_slip by ${JSON.stringify(gs.column)}`);
  }
  for (const [key, list] of [['guess_slip', gs?.values], ['learn', lf?.values]] as const) {
    const j = (list ?? []).findIndex((v) => v.value.length > MAX_ITEM_ID_LENGTH);
    if (j >= 0) fail(`per_value.${key}.values[${j}].value`, `an item id has at most ${MAX_ITEM_ID_LENGTH} characters`);
  }
  return itemsOfFit(perValue);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function summaryText(file: string, outcomes: readonly LoadOutcome[], fileIds: ReadonlyMap<string, string>, skipped: number, dryRun: boolean): string {
  const n = (s: LoadOutcome['status']) => outcomes.filter((o) => o.status === s).length;
  const lines: string[] = [];
  const name = basename(file);
  if (n('unchanged') === outcomes.length) {
    lines.push(`nothing to load: the ${count(outcomes.length)} concepts of ${name} already have these parameters (versions unchanged)`);
  } else {
    lines.push(
      `${dryRun ? 'would load' : 'loaded'} ${name}: ${count(n('created'))} concepts created, ${count(n('changed'))} changed, ` +
        `${count(n('unchanged'))} unchanged${skipped > 0 ? `, ${count(skipped)} fallback concepts skipped` : ''}`,
    );
  }
  for (const o of outcomes) {
    if (o.status === 'unchanged') continue;
    const items = o.items > 0 ? `, ${count(o.items)} items` : '';
    lines.push(`  ${fileIds.get(o.conceptId)} (${o.conceptId}): version ${o.previousVersion} -> ${o.version}${items}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Errors of the database side that the user can act on, as one line. */
function known(e: unknown): Error | undefined {
  if (e instanceof ConfigError || e instanceof MigrationError || e instanceof DataDirLockedError) return e;
  if (e instanceof ServiceError && e.code !== 'unavailable') return e;
  if (e instanceof ServiceError) return new Error(`the database is unavailable: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  return undefined;
}

async function runLoad(file: string, o: LoadOptions): Promise<void> {
  const { sets, skipped } = readParameterSets(file, o);
  let db: SqlDatabase | undefined;
  try {
    const config = loadConfig(process.env);
    db = await openDatabase(config);
    if (config.migrateOnStart) await migrate(db);
    const outcomes = await loadParameterSets(db, sets, o.dryRun);
    const fileIds = new Map(sets.map((s) => [s.conceptId, s.fileId]));
    if (o.json) {
      const n = (s: LoadOutcome['status']) => outcomes.filter((x) => x.status === s).length;
      const result = {
        command: 'params load',
        file: basename(file),
        dry_run: o.dryRun,
        created: n('created'),
        changed: n('changed'),
        unchanged: n('unchanged'),
        skipped_fallback: skipped,
        concepts: outcomes.map((x) => ({
          concept_id: x.conceptId,
          file_concept_id: fileIds.get(x.conceptId),
          status: x.status,
          previous_version: x.previousVersion,
          version: x.version,
          items: x.items,
        })),
      };
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write(summaryText(file, outcomes, fileIds, skipped, o.dryRun));
  } catch (e) {
    const k = known(e);
    if (k) throw new InputError(file, null, k.message);
    throw e;
  } finally {
    await db?.close();
  }
}
