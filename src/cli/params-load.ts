/**
 * `bkt params load <file>`: a `bkt fit` params file into the service's database, so that a researcher's fit goes to
 * production without copying numbers by hand. Each concept becomes a new version of its parameters, with the file's
 * per-item guess and slip (per_value.guess_slip) as its items; all in one transaction. Concepts whose stored
 * parameters and items already equal the file's keep their version, so loading a file twice writes nothing.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { BKT_IMPORT_NAMESPACE, importedId, type ItemGuessSlip, MAX_ITEM_ID_LENGTH, ServiceError } from '../service/index.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { migrate, MigrationError } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';
import { loadParameterSets, type LoadOutcome, type ParameterSet } from '../store/params-load-store.js';
import type { SqlDatabase } from '../store/sql.js';
import { InputError } from './errors.js';
import { addJsonOption, count } from './options.js';
import { readParamsFile } from './params-file.js';

interface LoadOptions {
  dryRun: boolean;
  skipFallback: boolean;
  namespace: string;
  json: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerParams(program: Command): void {
  const params = program.command('params').summary("move a params file's parameters into the service");
  const load = params
    .command('load')
    .summary("load a `bkt fit` params file into the service's parameters")
    .description(
      'Writes each concept of the params file as a new version of its parameters, with the per-item guess and slip ' +
        'of per_value.guess_slip (a fit with --multigs) as its items, in one transaction. A concept marked ' +
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
      (text: string) => {
        if (!UUID.test(text)) throw new InvalidArgumentError('expected a UUID.');
        return text.toLowerCase();
      },
      BKT_IMPORT_NAMESPACE,
    );
  addJsonOption(load).action(async (file: string, o: LoadOptions) => runLoad(file, o));
}

type Where = (field: string, problem: string) => never;

/** One per_value.guess_slip entry's items, checked (names the concept and field at fault). */
function readItems(entry: Record<string, unknown>, fail: Where): ItemGuessSlip[] {
  const perValue = entry.per_value;
  if (perValue === undefined || perValue === null) return [];
  if (!isObject(perValue)) return fail('per_value', 'expected an object');
  const gs = perValue.guess_slip;
  if (gs === undefined || gs === null) return [];
  if (!isObject(gs) || !Array.isArray(gs.values)) return fail('per_value.guess_slip', 'expected { column, values: [...] }');
  const seen = new Set<string>();
  return gs.values.map((v: unknown, j: number): ItemGuessSlip => {
    const at = `per_value.guess_slip.values[${j}]`;
    if (!isObject(v)) return fail(at, 'expected { value, guess, slip }');
    const id = v.value;
    if (typeof id !== 'string' || id.length < 1 || id.length > MAX_ITEM_ID_LENGTH) {
      return fail(`${at}.value`, `expected an item id of 1 to ${MAX_ITEM_ID_LENGTH} characters`);
    }
    if (seen.has(id)) return fail(`${at}.value`, `duplicate item ${JSON.stringify(id)}`);
    seen.add(id);
    for (const name of ['guess', 'slip'] as const) {
      const x = v[name];
      if (typeof x !== 'number' || !(x > 0 && x < 1)) return fail(`${at}.${name}`, `must be a number strictly between 0 and 1, got ${JSON.stringify(x)}`);
    }
    return { itemId: id, guess: v.guess as number, slip: v.slip as number };
  });
}

/** The parameter sets of a params file, with the ids the service knows the concepts by. */
export function readParameterSets(path: string, o: Pick<LoadOptions, 'skipFallback' | 'namespace'>): { sets: (ParameterSet & { fileId: string })[]; skipped: number } {
  const loaded = readParamsFile(path);
  // readParamsFile checked the file's shape and every concept's params; the per-item values are read here.
  const json = JSON.parse(readFileSync(path, 'utf8')) as { concepts: Record<string, unknown>[] };
  const sets: (ParameterSet & { fileId: string })[] = [];
  const ids = new Map<string, string>();
  let skipped = 0;
  json.concepts.forEach((entry, i) => {
    const fileId = entry.concept_id as string;
    const fail: Where = (field, problem) => {
      throw new InputError(path, null, `concepts[${i}] (concept ${JSON.stringify(fileId)}).${field}: ${problem}`);
    };
    const concept = loaded.concepts.get(fileId)!;
    if (concept.use === 'fallback' && o.skipFallback) {
      skipped++;
      return;
    }
    const conceptId = importedId('concept', fileId, o.namespace);
    const other = ids.get(conceptId);
    if (other !== undefined) fail('concept_id', `${JSON.stringify(other)} and ${JSON.stringify(fileId)} are the same UUID`);
    ids.set(conceptId, fileId);
    const fitted = concept.use === 'fitted';
    const responses = typeof entry.responses === 'number' && Number.isSafeInteger(entry.responses) ? entry.responses : 0;
    sets.push({
      fileId,
      conceptId,
      params: fitted ? concept.params : loaded.fallback,
      items: fitted ? readItems(entry, fail) : [],
      sampleSize: responses,
    });
  });
  return { sets, skipped };
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
